ALTER TABLE `actions` ADD `stopped_at` integer;--> statement-breakpoint
CREATE TABLE `spend_day_cells` (
	`tz` text NOT NULL,
	`day_start` integer NOT NULL,
	`instance_id` text NOT NULL,
	`estimated` real NOT NULL,
	`saved` real NOT NULL,
	PRIMARY KEY(`tz`, `day_start`, `instance_id`)
);
--> statement-breakpoint
CREATE TABLE `spend_days` (
	`tz` text NOT NULL,
	`day_start` integer NOT NULL,
	`estimated` real NOT NULL,
	`saved` real NOT NULL,
	`observed` real NOT NULL,
	`recharged` real NOT NULL,
	PRIMARY KEY(`tz`, `day_start`)
);
--> statement-breakpoint
CREATE TABLE `spend_month_cells` (
	`tz` text NOT NULL,
	`month_start` integer NOT NULL,
	`instance_id` text NOT NULL,
	`estimated` real NOT NULL,
	`saved` real NOT NULL,
	PRIMARY KEY(`tz`, `month_start`, `instance_id`)
);
--> statement-breakpoint
CREATE TABLE `spend_months` (
	`tz` text NOT NULL,
	`month_start` integer NOT NULL,
	`through` integer NOT NULL,
	PRIMARY KEY(`tz`, `month_start`)
);
--> statement-breakpoint
CREATE INDEX `instances_gone` ON `instances` (`gone_at`);--> statement-breakpoint
DROP TABLE `spend_rollup`;--> statement-breakpoint
DROP TABLE `spend_rollup_days`;