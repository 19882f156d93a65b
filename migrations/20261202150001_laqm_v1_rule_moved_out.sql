-- The one accepted change to a published framework file. criteria/laqm/v1.toml was edited once,
-- before any authority relied on it: the best-fit rule moved out of it (it was the platform's,
-- not the handbook's, and is now each authority's setting, see best_fit_rule), its header stopped
-- calling the platform's labels a word-for-word transcription, and each strand gained the
-- platform's short title (and the two strands printed 4.5 a qualifier each).
--
-- A database that recorded the file as it was takes the new file's hash. Only that exact old
-- hash is replaced: a database that recorded anything else keeps it, so start-up still refuses
-- any other change to v1, and every change after this one must be a new version (a new file).
UPDATE framework_version
SET content_hash = 'a13065b19d6601888b8085c44c7bf2369ccf4a2a18b512811bc238522d6d4dab'
WHERE framework_key = 'laqm'
  AND version = 'v1'
  AND content_hash = '0742e551b75e07abb9a900c02b59f5e499c3fad5cd05848c6882a7aaf71970f5';
