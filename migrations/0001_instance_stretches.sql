ALTER TABLE `instances` ADD `billed_since` integer;--> statement-breakpoint
ALTER TABLE `instances` ADD `running_since` integer;