-- A set-aside event is kept as JSON text (`payload_text`, always written): text holds what jsonb
-- refuses (lone surrogates are escaped, any depth), so keeping an event aside cannot fail on its
-- content. `payload` (jsonb) is filled only when the store can hold the event as jsonb.
ALTER TABLE quarantined_events ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE quarantined_events ADD COLUMN payload_text text;
