"""A city's file of 5G sites or gigabit indicators, made into reports: read (readers, with the
words of vocabulary), checked row by row (rows), cut into reports with content-derived ids
(batches). ``pacer submit`` and the portal both go through ``prepare_reports``, so a file reads
the same in either; ``templates`` writes the empty forms both hand out."""
