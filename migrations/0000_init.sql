CREATE TABLE `actions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`decision_key` text NOT NULL,
	`decided_at` integer NOT NULL,
	`instance_id` text NOT NULL,
	`instance_name` text DEFAULT '' NOT NULL,
	`policy` text NOT NULL,
	`action` text NOT NULL,
	`mode` text NOT NULL,
	`state` text NOT NULL,
	`who` text DEFAULT 'policy' NOT NULL,
	`reason` text DEFAULT '' NOT NULL,
	`status_at_decision` text,
	`expected_status` text,
	`rate` real DEFAULT 0 NOT NULL,
	`retain_rate` real DEFAULT 0 NOT NULL,
	`sent_at` integer,
	`response_code` integer,
	`response_msg` text,
	`finished_at` integer,
	`detail` text,
	`rebooted_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `actions_decision_key` ON `actions` (`decision_key`);--> statement-breakpoint
CREATE INDEX `actions_instance` ON `actions` (`instance_id`,`decided_at`);--> statement-breakpoint
CREATE INDEX `actions_decided` ON `actions` (`decided_at`);--> statement-breakpoint
CREATE TABLE `alert_state` (
	`dedup_key` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`fingerprint` text DEFAULT '' NOT NULL,
	`first_at` integer NOT NULL,
	`last_sent_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `balance_points` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`balance` real NOT NULL
);
--> statement-breakpoint
CREATE INDEX `balance_points_at` ON `balance_points` (`at`);--> statement-breakpoint
CREATE TABLE `heartbeats` (
	`instance_id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`gpu_util` real,
	`busy` integer
);
--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`status_known` integer DEFAULT true NOT NULL,
	`gpu_model` text DEFAULT '' NOT NULL,
	`gpu_count` integer DEFAULT 0 NOT NULL,
	`price_per_hour` real DEFAULT 0 NOT NULL,
	`retain_price` real DEFAULT 0 NOT NULL,
	`image` text DEFAULT '' NOT NULL,
	`data_center` text DEFAULT '' NOT NULL,
	`web_url` text DEFAULT '' NOT NULL,
	`created_ts` integer,
	`start_ts` integer,
	`stop_ts` integer,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`gone_at` integer
);
--> statement-breakpoint
CREATE TABLE `intervals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`instance_id` text NOT NULL,
	`status` text NOT NULL,
	`gpu_kept` integer NOT NULL,
	`gpu_count` integer DEFAULT 0 NOT NULL,
	`rate` real NOT NULL,
	`from_ts` integer NOT NULL,
	`to_ts` integer
);
--> statement-breakpoint
CREATE INDEX `intervals_instance_from` ON `intervals` (`instance_id`,`from_ts`);--> statement-breakpoint
CREATE INDEX `intervals_from_to` ON `intervals` (`from_ts`,`to_ts`);--> statement-breakpoint
CREATE TABLE `leases` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`host` text NOT NULL,
	`pid` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `outbox_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` integer NOT NULL,
	`channel` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`sent_at` integer,
	`last_error` text,
	FOREIGN KEY (`event_id`) REFERENCES `outbox_events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_deliveries_event_channel` ON `outbox_deliveries` (`event_id`,`channel`);--> statement-breakpoint
CREATE INDEX `outbox_deliveries_due` ON `outbox_deliveries` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `outbox_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`dedup_key` text NOT NULL,
	`reason` text NOT NULL,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_events_created` ON `outbox_events` (`created_at`);--> statement-breakpoint
CREATE TABLE `overrides` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`instance_id` text,
	`name_glob` text,
	`kind` text NOT NULL,
	`policies` text,
	`until` integer,
	`forever` integer DEFAULT false NOT NULL,
	`who` text DEFAULT 'api' NOT NULL,
	`reason` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `overrides_active` ON `overrides` (`revoked_at`,`until`);--> statement-breakpoint
CREATE TABLE `policy_state` (
	`policy` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`policy`, `key`)
);
--> statement-breakpoint
CREATE TABLE `probe_changes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`instance_id` text NOT NULL,
	`probe` text NOT NULL,
	`verdict` text NOT NULL,
	`at` integer NOT NULL,
	`detail` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `probe_changes_instance` ON `probe_changes` (`instance_id`,`at`);--> statement-breakpoint
CREATE TABLE `probe_state` (
	`instance_id` text NOT NULL,
	`probe` text NOT NULL,
	`verdict` text NOT NULL,
	`since` integer NOT NULL,
	`detail` text DEFAULT '' NOT NULL,
	`metrics` text,
	`checked_at` integer NOT NULL,
	PRIMARY KEY(`instance_id`, `probe`)
);
--> statement-breakpoint
CREATE TABLE `ssh_host_keys` (
	`host_port` text PRIMARY KEY NOT NULL,
	`fingerprint` text NOT NULL,
	`first_seen` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ticks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`duration_ms` integer DEFAULT 0 NOT NULL,
	`api_calls` integer DEFAULT 0 NOT NULL,
	`outcome` text NOT NULL,
	`error_class` text,
	`instance_count` integer,
	`decisions` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ticks_at` ON `ticks` (`at`);--> statement-breakpoint
CREATE TABLE `used_links` (
	`link_id` text PRIMARY KEY NOT NULL,
	`used_at` integer NOT NULL
);
