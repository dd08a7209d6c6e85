DROP TABLE `spend_rollup`;--> statement-breakpoint
DROP TABLE `spend_rollup_days`;