-- Whether a strand's actions hold anything but white space, kept beside the text so the
-- dashboard counts written strands across an authority without decompressing every answer.
ALTER TABLE strand_entry ADD COLUMN written boolean GENERATED ALWAYS AS (actions ~ '[^[:space:]]') STORED;

-- What the dashboard reads of every strand of an authority, readable from the index alone.
CREATE INDEX strand_entry_levels ON strand_entry (tenant_id, assessment_id) INCLUDE (strand_key, claimed_level, written);
