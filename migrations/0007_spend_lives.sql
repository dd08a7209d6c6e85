CREATE TABLE `spend_lives` (
	`tz` text NOT NULL,
	`instance_id` text NOT NULL,
	`first_day` integer NOT NULL,
	`last_day` integer NOT NULL,
	`estimated` real NOT NULL,
	`saved` real NOT NULL,
	PRIMARY KEY(`tz`, `instance_id`)
);
--> statement-breakpoint
INSERT INTO `spend_lives` (`tz`, `instance_id`, `first_day`, `last_day`, `estimated`, `saved`)
	SELECT `tz`, `instance_id`, min(`day_start`), max(`day_start`), sum(`estimated`), sum(`saved`) FROM `spend_day_cells` GROUP BY `tz`, `instance_id`;
