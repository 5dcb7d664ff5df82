"""Log sources: follow files (:mod:`.tail`) or a Kafka topic (:mod:`.kafka_source`), parse
each server's header (:mod:`.formats`) and hand :class:`~foreshock.schemas.logs.LogRecord` s to the
log stage (:mod:`foreshock.pipelines.stages.logs`). User docs: ``docs/logs-source.md``."""
