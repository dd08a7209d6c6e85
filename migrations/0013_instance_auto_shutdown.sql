ALTER TABLE `instances` ADD `auto_shutdown` integer;--> statement-breakpoint
ALTER TABLE `instances` ADD `auto_shutdown_action` integer;