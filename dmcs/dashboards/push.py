"""Push the dashboards to a Grafana through `grafana-client` (the maintained successor of the
archived `grafana-api`)."""

from __future__ import annotations

from typing import Any


class PushError(RuntimeError):
    """Grafana refused or could not be reached; the text says which dashboard and why."""


def push(url: str, token: str | None, dashboards: dict[str, dict[str, Any]],
         folder_uid: str | None = None) -> list[str]:
    """Create or overwrite each dashboard; return their Grafana URLs."""
    from grafana_client import GrafanaApi  # ~1 s to import: paid only when pushing

    api = GrafanaApi.from_url(url, credential=token or None, timeout=10.0)
    urls = []
    for name, dash in dashboards.items():
        body: dict[str, Any] = {"dashboard": {**dash, "id": None}, "overwrite": True,
                                "message": "pushed by dmcs dashboards push"}
        if folder_uid:
            body["folderUid"] = folder_uid
        try:
            answer = api.dashboard.update_dashboard(body)
        except Exception as err:  # grafana-client raises many types; all mean "not pushed"
            raise PushError(f"pushing {name} to {url} failed: {err}") from err
        urls.append(f"{url.rstrip('/')}{answer.get('url', '')}")
    return urls
