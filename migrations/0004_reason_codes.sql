ALTER TABLE `actions` ADD `reason_code` text;--> statement-breakpoint
ALTER TABLE `probe_changes` ADD `detail_code` text;--> statement-breakpoint
ALTER TABLE `probe_state` ADD `detail_code` text;