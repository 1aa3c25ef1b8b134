"""The class report: score histogram, per-question mean and failure rate, most frequent hints."""
from __future__ import annotations

import base64
import html
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path


def summary(results: list[dict]) -> dict:
    timed_out = [r for r in results if any(ev.get("timeouts") for ev in r.get("events", {}).values())]
    flagged = [r for r in results if r.get("flags")]
    sandbox = {r.get("sandbox") for r in results if r["status"] == "graded"}
    return {"submissions": len(results),
            "graded": sum(r["status"] == "graded" for r in results),
            "failed": sum(r["status"] != "graded" for r in results),
            "timed_out": len(timed_out), "flagged": len(flagged),
            "needs_review": sum(any("needs review" in f for f in r.get("flags", [])) for r in results),
            "sandbox": "on" if sandbox == {True} else ("off" if True not in sandbox else "partly off")}


def flags_of(res: dict) -> list[str]:
    """Why a submission deserves a look from a human."""
    flags = list(res.get("tamper", []))
    for nb, ev in res.get("events", {}).items():
        flags += [f"{nb}: {f}" for f in ev.get("flags", [])]
        if ev.get("kernel_deaths"):
            flags.append(f"{nb}: kernel died at {', '.join(map(str, ev['kernel_deaths'][:3]))}")
        if ev.get("timeouts"):
            flags.append(f"{nb}: {len(ev['timeouts'])} cell(s) timed out")
    for nb, data in res.get("notebooks", {}).items():
        if data.get("needs_manual"):
            flags.append(f"{nb}: needs manual grading: {', '.join(data['needs_manual'][:5])}")
    for line in res.get("log", []):
        if "Missing grade cell" in line or "has changed" in line and "checksum" not in line:
            flags.append(line[:200])
    if res["status"] != "graded":
        flags.append("not graded: " + "; ".join(res.get("errors", [])[:2]))
    return flags


def _hint(msg: str) -> str:
    msg = msg.split(": ", 1)[1] if re.match(r"^[\w ,()-]{1,60}: ", msg) else msg
    msg = re.sub(r"\([^()]*\)", "(…)", msg) if len(msg) > 140 else msg
    return re.sub(r"\d+", "#", msg.strip().splitlines()[0])[:200]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def write(results: list[dict], outdir: Path, meta: dict, refused: list | None = None) -> dict:
    """report.html and results.json. ``refused``: what was found but not graded (path, reason,
    student, assignment), listed so that no student is missing without a reason."""
    refused = refused or []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    by_assignment = defaultdict(list)
    for r in results:
        by_assignment[r["assignment"]].append(r)
    sections, stats = [], {}
    for assignment, rs in sorted(by_assignment.items()):
        maxes, per_q, hints = {}, defaultdict(list), defaultdict(Counter)
        totals = []
        for r in rs:
            total = 0.0
            for nb, data in r.get("notebooks", {}).items():
                verdicts = r.get("events", {}).get(nb, {}).get("verdicts", {})
                for gid, mx in data["max"].items():
                    maxes[gid] = mx
                    score = (data["scores"].get(gid) or 0) if r["status"] == "graded" else 0
                    per_q[gid].append(score)
                    total += score
                    for m in verdicts.get(gid, {}).get("messages", []):
                        hints[gid][_hint(m)] += 1
            totals.append(total)
        full = sum(maxes.values()) or 1
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist([100 * t / full for t in totals], bins=range(0, 105, 5), color="#4c72b0", edgecolor="white")
        ax.set(xlabel="score (%)", ylabel="students", title=f"{assignment}: {len(rs)} submissions")
        hist = _png(fig)
        plt.close(fig)
        qs = list(maxes)
        means = [sum(per_q[q]) / len(per_q[q]) / maxes[q] if maxes[q] else 0 for q in qs]
        fails = [sum(s < maxes[q] for s in per_q[q]) / len(per_q[q]) for q in qs]
        fig, ax = plt.subplots(figsize=(8, 0.25 * len(qs) + 1))
        ax.barh(qs[::-1], fails[::-1], color="#c44e52")
        ax.set(xlabel="failure rate", xlim=(0, 1), title=f"{assignment}: failure rate per test cell")
        bars = _png(fig)
        plt.close(fig)
        (outdir / f"{assignment}_histogram.png").write_bytes(hist)
        (outdir / f"{assignment}_failures.png").write_bytes(bars)
        top = Counter()
        for gid, c in hints.items():
            for h, n in c.items():
                top[(gid, h)] += n
        stats[assignment] = {
            "submissions": len(rs), "max_score": full, "mean_score": sum(totals) / len(totals),
            "questions": {q: {"mean": round(m, 3), "failure_rate": round(f, 3)} for q, m, f in zip(qs, means, fails)},
            "top_hints": [{"cell": g, "hint": h, "count": n} for (g, h), n in top.most_common(10)]}
        rows = "".join(f"<tr><td>{html.escape(q)}</td><td>{maxes[q]:g}</td><td>{m:.0%}</td><td>{f:.0%}</td></tr>"
                       for q, m, f in zip(qs, means, fails))
        hint_rows = "".join(f"<tr><td>{n}</td><td>{html.escape(g)}</td><td>{html.escape(h)}</td></tr>"
                            for (g, h), n in top.most_common(10))
        img = lambda b: f"<img src='data:image/png;base64,{base64.b64encode(b).decode()}'>"  # noqa: E731
        sections.append(
            f"<h2>{html.escape(assignment)}</h2><p>{len(rs)} submissions, mean "
            f"{stats[assignment]['mean_score']:.1f} / {full:g}</p>{img(hist)}{img(bars)}"
            f"<h3>Per question</h3><table><tr><th>test cell</th><th>points</th><th>mean</th>"
            f"<th>failure rate</th></tr>{rows}</table><h3>Most frequent hints</h3><table><tr><th>n</th>"
            f"<th>test cell</th><th>message</th></tr>{hint_rows}</table>")
    summ = summary(results)
    students = "".join(
        f"<tr><td>{html.escape(r['student'])}"
        f"{' (' + html.escape(r['name']) + ')' if r.get('name') and r['name'] != r['student'] else ''}</td><td>{html.escape(r['assignment'])}</td><td>{r['status']}</td>"
        f"<td>{sum((v or 0) for d in r.get('notebooks', {}).values() for v in d['scores'].values()) if r['status'] == 'graded' else 0:g}</td>"
        f"<td>{html.escape('; '.join(r.get('flags', []))[:400])}</td></tr>"
        for r in sorted(results, key=lambda r: (r["assignment"], r["student"])))
    page = ("<!doctype html><html><head><meta charset=utf-8><title>Class report</title><style>"
            "body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 6px}</style></head><body><h1>Class report</h1>"
            f"<p>graded {summ['graded']}, failed {summ['failed']}, timed out {summ['timed_out']}, flagged "
            f"{summ['flagged']} (needs review: {summ['needs_review']}) — sandbox: <b>{summ['sandbox']}</b>; workers: {meta.get('workers')} "
            f"({meta.get('engine')}); {meta.get('seconds', 0):.1f} s</p>"
            + "".join(sections) +
            "<h2>Submissions</h2><table><tr><th>student</th><th>assignment</th><th>status</th><th>score</th>"
            f"<th>flags</th></tr>{students}</table>"
            + (f"<h2>Not graded ({len(refused)})</h2><table><tr><th>student</th><th>assignment</th><th>path</th>"
               "<th>reason</th></tr>" + "".join(
                   f"<tr><td>{html.escape(x['student'])}</td><td>{html.escape(x['assignment'])}</td>"
                   f"<td>{html.escape(x['path'])}</td><td>{html.escape(x['reason'])}</td></tr>" for x in refused)
               + "</table>" if refused else "")
            + "</body></html>")
    (outdir / "report.html").write_text(page)
    summ["not_graded"] = len(refused)
    doc = {"summary": summ, "meta": meta, "assignments": stats, "not_graded": refused,
           "submissions": [{k: r.get(k) for k in ("student", "name", "assignment", "status", "flags", "errors", "seconds",
                                                  "sandbox", "worker")}
                           | {"scores": {nb: d["scores"] for nb, d in r.get("notebooks", {}).items()},
                              "max": {nb: d["max"] for nb, d in r.get("notebooks", {}).items()},
                              # cells not re-run (nothing graded depends on them), per notebook
                              "skipped": {nb: ev.get("skipped", []) for nb, ev in r.get("events", {}).items()},
                              "timing": {nb: {k: ev.get(k) for k in ("seconds", "startup_s", "prepare_s", "first_cell_s",
                                                                     "other_cells_s", "test_cells_s",
                                                                     "stop_s", "slowest")}
                                         for nb, ev in r.get("events", {}).items()}}
                           for r in results]}
    (outdir / "results.json").write_text(json.dumps(doc, indent=1, default=str))
    return doc
