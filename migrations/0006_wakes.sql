CREATE TABLE `wake_tries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`action_id` integer NOT NULL,
	`n` integer NOT NULL,
	`at` integer NOT NULL,
	`gpu_model` text,
	`gpu_count` integer,
	`outcome` text NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `wake_tries_action` ON `wake_tries` (`action_id`,`n`);--> statement-breakpoint
CREATE TABLE `wakes` (
	`action_id` integer PRIMARY KEY NOT NULL,
	`instance_id` text NOT NULL,
	`instance_name` text DEFAULT '' NOT NULL,
	`policy` text NOT NULL,
	`who` text NOT NULL,
	`mode` text NOT NULL,
	`gpu_models` text NOT NULL,
	`gpu_count` integer NOT NULL,
	`requested_at` integer NOT NULL,
	`give_up_at` integer NOT NULL,
	`state` text NOT NULL,
	`tries` integer DEFAULT 0 NOT NULL,
	`rounds` integer DEFAULT 0 NOT NULL,
	`next_try_at` integer,
	`next_model` integer DEFAULT 0 NOT NULL,
	`booted_model` text,
	`booted_at` integer,
	`finished_at` integer,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `wakes_instance` ON `wakes` (`instance_id`,`requested_at`);--> statement-breakpoint
CREATE INDEX `wakes_state` ON `wakes` (`state`);