-- The change counters and their triggers (0008-0010) kept reads between ticks; reads now go to SQLite each time.
DROP TRIGGER IF EXISTS `intervals_changed_insert`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `intervals_changed_update`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `intervals_changed_delete`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `probe_state_changed_insert`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `probe_state_changed_update`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `probe_state_changed_delete`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `instances_changed_insert`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `instances_changed_update`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `instances_changed_delete`;
--> statement-breakpoint
DROP TABLE IF EXISTS `change_counters`;
