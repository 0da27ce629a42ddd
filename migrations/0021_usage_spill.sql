-- The spill of a CDR file's import (src/domains/usage/spill.ts): the file's matched records wait on the
-- importing machine's disk, by ranges of account ids, until they are rated (no longer in a pending table
-- that the database stored, indexed, sorted and sent back). The directory is kept on the file's row so
-- that a later import can remove what an import that crashed left behind (releaseAbandonedFiles).
ALTER TABLE usage_files ADD COLUMN spill_dir text;
