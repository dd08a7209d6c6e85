CREATE TABLE `spend_rollup` (
	`tz` text NOT NULL,
	`day_start` integer NOT NULL,
	`instance_id` text NOT NULL,
	`estimated` real NOT NULL,
	`saved` real NOT NULL,
	PRIMARY KEY(`tz`, `day_start`, `instance_id`)
);
--> statement-breakpoint
CREATE TABLE `spend_rollup_days` (
	`tz` text NOT NULL,
	`day_start` integer NOT NULL,
	PRIMARY KEY(`tz`, `day_start`)
);
