-- A counter that every row change of `probe_state` bumps, in the same transaction: a connection keeps the answers it
-- read (and the ones it wrote itself) while the counter stands where it left it, and reads again after any other
-- write (another process, a pruning job). Raw SQL only; not part of the drizzle schema.
INSERT INTO `change_counters` (`name`, `n`) VALUES ('probe_state', 0);
--> statement-breakpoint
CREATE TRIGGER `probe_state_changed_insert` AFTER INSERT ON `probe_state` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'probe_state';
END;
--> statement-breakpoint
CREATE TRIGGER `probe_state_changed_update` AFTER UPDATE ON `probe_state` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'probe_state';
END;
--> statement-breakpoint
CREATE TRIGGER `probe_state_changed_delete` AFTER DELETE ON `probe_state` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'probe_state';
END;
