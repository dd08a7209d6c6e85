-- A counter that every row change of `instances` bumps, in the same transaction: the instance list's rows (and the
-- stretches the core's views read) are kept while it stands still. Every tick bumps it (last_seen), so what is kept
-- lives until the next tick. Raw SQL only; not part of the drizzle schema.
INSERT INTO `change_counters` (`name`, `n`) VALUES ('instances', 0);
--> statement-breakpoint
CREATE TRIGGER `instances_changed_insert` AFTER INSERT ON `instances` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'instances';
END;
--> statement-breakpoint
CREATE TRIGGER `instances_changed_update` AFTER UPDATE ON `instances` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'instances';
END;
--> statement-breakpoint
CREATE TRIGGER `instances_changed_delete` AFTER DELETE ON `instances` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'instances';
END;
