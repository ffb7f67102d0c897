"""Reading, checking, cleaning and splitting training data (light core: no torch).

    readers.py    files and folders → rows that know where they came from
    messages.py   one chat turn in any common spelling → {"role", "content"}
    formats.py    format detection with evidence; rows → normalized examples
    validate.py   the on_error policy (fail with every bad row listed, or skip and record)
    clean.py      whitespace, empty, duplicates, token bounds, degenerate pairs, leakage
    dedup.py      exact (normalized hash) and near (MinHash LSH) duplicates
    split.py      the deterministic train/validation split
    stats.py      character and token statistics
    preview.py    the loss-mask preview (trained vs masked tokens)
    pipeline.py   check / inspect / prepare: the calls the fronts and the worker make
    cache.py      reuse of prepared data, keyed by the file's hash and every setting
    loader.py     import_file and the SFT shortcut load_conversations
"""
