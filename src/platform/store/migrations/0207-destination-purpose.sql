-- The consent purpose a destination instance's deliveries serve, when it is not its type's
-- (a webhook feeding a marketing tool is for marketing): NULL takes the manifest's purpose.
ALTER TABLE destinations ADD COLUMN purpose text;
