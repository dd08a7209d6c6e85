-- A counter that every row change of `intervals` bumps, in the same transaction: the cost summed from closed intervals
-- (today's, the not yet debited hour's) is kept while it stands still, whatever else is written (probe answers are
-- stored every few seconds). Raw SQL only; not part of the drizzle schema.
CREATE TABLE `change_counters` (
	`name` text PRIMARY KEY NOT NULL,
	`n` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `change_counters` (`name`, `n`) VALUES ('intervals', 0);
--> statement-breakpoint
CREATE TRIGGER `intervals_changed_insert` AFTER INSERT ON `intervals` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'intervals';
END;
--> statement-breakpoint
CREATE TRIGGER `intervals_changed_update` AFTER UPDATE ON `intervals` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'intervals';
END;
--> statement-breakpoint
CREATE TRIGGER `intervals_changed_delete` AFTER DELETE ON `intervals` BEGIN
	UPDATE `change_counters` SET `n` = `n` + 1 WHERE `name` = 'intervals';
END;
