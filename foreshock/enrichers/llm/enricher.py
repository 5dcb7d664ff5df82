"""The LLM enricher: an OpenAI-compatible endpoint writes the report, grounded or refused.

foreshock's own analysis ranks the cause; the model explains it. :class:`LlmEnricher`
sends the masked, budgeted prompt (:mod:`.prompt`) through the ``openai`` package to any
OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp server), at low
temperature, asking for JSON; validates the answer (:class:`~.answer.LlmAnswer`) and its
grounding (:mod:`.grounding`), retrying once with the reasons when either fails; and
caches an accepted answer by the prompt's fingerprint. Whatever goes wrong (no endpoint,
timeout, 429 or 500 after the client's retries, invalid or ungrounded twice) the
narrator's report stands, and says why (``enrichment_note``). Every call is audited.

Examples
--------
>>> from foreshock.schemas.report import RootCauseReport
>>> r = RootCauseReport(id="r", incident_id="i", created_at=0.0, title="t", summary="s",
...                     root_cause_resource="redis")
>>> out = LlmEnricher(base_url="", model="").enrich(r)
>>> out.enriched_by, out.enrichment_note
('narrator', 'no LLM endpoint configured (llm_base_url, llm_model)')
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from foreshock.enrichers.llm.answer import LlmAnswer
from foreshock.enrichers.llm.client import client, failure
from foreshock.enrichers.llm.grounding import ungrounded
from foreshock.enrichers.llm.journal import AuditLog, ResponseCache
from foreshock.enrichers.llm.prompt import Prompt, build_prompt
from foreshock.schemas.report import RootCauseReport

__all__ = ["LlmEnricher"]


class LlmEnricher:
    """Enrich narrator reports through an OpenAI-compatible chat-completions endpoint.

    Parameters
    ----------
    base_url, api_key, model
        The endpoint (``http://127.0.0.1:8000/v1``), its key, the model name. Empty
        ``base_url`` or ``model``: every report stays the narrator's.
    timeout_s
        Seconds one request may take.
    max_tokens
        Most tokens of one answer.
    budget
        Most tokens of one prompt (evidence cut by rank, the cut said in the prompt).
    cache, audit
        Where accepted answers and the call log go (in memory by default).
    max_retries
        Retries of the ``openai`` client on 429, 5xx and connection errors (it backs off).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 30.0,
        max_tokens: int = 1500,
        budget: int = 6000,
        cache: ResponseCache | None = None,
        audit: AuditLog | None = None,
        max_retries: int = 2,
    ) -> None:
        self.base_url, self.model = base_url, model
        self.timeout_s, self.max_tokens, self.budget = timeout_s, max_tokens, budget
        self.cache = cache or ResponseCache()
        self.audit = audit or AuditLog()
        self._client: Any = client(base_url, model, api_key, timeout_s, max_retries)

    @classmethod
    def from_settings(cls, settings: Any, home: Path | None = None) -> LlmEnricher:
        """An enricher from the ``llm_*`` settings; cache and audit log under ``home``."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            max_tokens=settings.llm_max_tokens,
            budget=settings.llm_token_budget,
            cache=ResponseCache(home / "llm-cache" if home else None),
            audit=audit_log(settings, home),
        )

    def enrich(
        self,
        report: RootCauseReport,
        knowledge: list[str] | None = None,
        logs: list[str] | None = None,
        history: list[str] | None = None,
    ) -> RootCauseReport:
        """``report`` rewritten by the model when its answer is grounded, else ``report``
        with ``enrichment_note`` saying why it stands."""
        if self._client is None:
            return _narrator(report, "no LLM endpoint configured (llm_base_url, llm_model)")
        prompt = build_prompt(report, self.model, knowledge, logs, self.budget, history=history)
        cached = self.cache.get(prompt.fingerprint)
        if cached is not None:
            self.audit.write(**self._entry(report, prompt), outcome="accepted", cache_hit=True)
            return self._report(report, prompt, LlmAnswer.model_validate_json(cached))
        messages = list(prompt.messages)
        reason = ""
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=0.1,
                    max_tokens=self.max_tokens,
                    response_format={"type": "json_object"},
                )
            except Exception as exc:  # any failure of the endpoint: the narrator
                reason = failure(exc, self.timeout_s)
                self.audit.write(
                    **self._entry(report, prompt),
                    outcome="error",
                    reason=reason,
                    latency_s=time.perf_counter() - started,
                    attempt=attempt,
                    cache_hit=False,
                )
                return _narrator(report, f"LLM endpoint failed: {reason}")
            text = response.choices[0].message.content or ""
            usage = getattr(response, "usage", None)
            answer, reason = _judge(text, prompt)
            self.audit.write(
                **self._entry(report, prompt),
                outcome="accepted" if answer else "rejected",
                reason=reason or None,
                latency_s=time.perf_counter() - started,
                prompt_tokens=getattr(usage, "prompt_tokens", None),
                completion_tokens=getattr(usage, "completion_tokens", None),
                attempt=attempt,
                cache_hit=False,
            )
            if answer is not None:
                self.cache.put(prompt.fingerprint, answer.model_dump_json())
                return self._report(report, prompt, answer)
            messages = [
                *prompt.messages,
                {"role": "assistant", "content": text[:4000]},
                {"role": "user", "content": f"Rejected: {reason}. Answer again, fixing that."},
            ]
        return _narrator(report, f"LLM answer rejected twice: {reason}")

    def _entry(self, report: RootCauseReport, prompt: Prompt) -> dict[str, Any]:
        return {
            "model": self.model,
            "incident_id": report.incident_id,
            "prompt_sha256": prompt.fingerprint,
            "left_out": prompt.left_out,
        }

    def _report(self, report: RootCauseReport, prompt: Prompt, a: LlmAnswer) -> RootCauseReport:
        back = prompt.masker.unmask
        ids = {f"E{i}": e for i, e in enumerate(report.evidence, 1)}
        chain = [
            f"{back(s.step)} ("
            + ", ".join(f"{e}: {ids[e].resource} {ids[e].metric}" for e in s.evidence if e in ids)
            + ")"
            for s in a.causal_chain
        ]
        note = None
        if prompt.left_out:
            note = f"{prompt.left_out} lower-ranked evidence rows were not sent (token budget)"
        return report.model_copy(
            update={
                "summary": back(a.summary),
                "root_cause_resource": a.root_cause.resource,
                "failure_mode": a.root_cause.failure_mode or report.failure_mode,
                "causal_chain": chain,
                "checks": [f"{back(c.command)} — {back(c.why)}" for c in a.checks] or report.checks,
                "remediations": [f"[{r.risk} risk] {back(r.action)}" for r in a.remediations]
                or report.remediations,
                "narrator": self.model,
                "enriched_by": self.model,
                "enrichment_note": note,
                "confidence": a.confidence,
                "would_change": [back(w) for w in a.would_change],
            }
        )


def audit_log(settings: Any, home: Path | None) -> AuditLog:
    """The audit log: ``<home>/llm-audit.jsonl``, and with the OpenSearch store also the
    index ``<opensearch_index_prefix>-llm-audit``."""
    also = None
    if getattr(settings, "store_backend", "") == "opensearch":
        from foreshock.enrichers.llm.journal import opensearch_audit
        from foreshock.enrichers.stores.opensearch_client import connect

        client = connect(
            settings.opensearch_url,
            settings.opensearch_user,
            settings.opensearch_password,
            ca_file=settings.opensearch_ca_file,
            verify_certs=settings.opensearch_verify_certs,
        )
        also = opensearch_audit(client, f"{settings.opensearch_index_prefix}-llm-audit")
    return AuditLog(home / "llm-audit.jsonl" if home else None, also)


def _judge(text: str, prompt: Prompt) -> tuple[LlmAnswer | None, str]:
    """The answer if valid and grounded, else ``None`` and why."""
    try:
        answer = LlmAnswer.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "answer"
        return None, f"not the JSON asked for ({where}: {first['msg']})"
    reasons = ungrounded(answer, prompt.evidence_ids, prompt.candidates, prompt.allowed_numbers)
    if reasons:
        return None, "; ".join(reasons)
    return answer, ""


def _narrator(report: RootCauseReport, why: str) -> RootCauseReport:
    return report.model_copy(update={"enriched_by": "narrator", "enrichment_note": why})
