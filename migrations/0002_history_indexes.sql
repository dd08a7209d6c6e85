CREATE INDEX `actions_state_sent` ON `actions` (`state`,`sent_at`);--> statement-breakpoint
CREATE INDEX `actions_sent` ON `actions` (`sent_at`);--> statement-breakpoint
CREATE INDEX `actions_rebooted` ON `actions` (`rebooted_at`);--> statement-breakpoint
CREATE INDEX `intervals_to` ON `intervals` (`to_ts`,`instance_id`);--> statement-breakpoint
CREATE INDEX `probe_changes_at` ON `probe_changes` (`at`);