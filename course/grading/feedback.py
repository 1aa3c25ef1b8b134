"""Feedback HTML that never shows hidden tests.

nbgrader's own feedback prints the restored test cells, hidden tests included (upstream #917). Here the
feedback comes from a copy of the autograded notebook in which every hidden-test block is replaced by
one comment naming the check, and the cell's outputs are the parent's verdict (label + teaching
message), so the student learns what failed and why, not the hidden cases or keys. The page is
rendered directly (a few ms) rather than through nbconvert's templates (about a second per notebook).
"""
from __future__ import annotations

import html
import re

import nbformat

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STYLE = """<style>body{font-family:sans-serif;max-width:60em;margin:auto}pre{background:#f6f6f6;padding:.5em;
white-space:pre-wrap}.out{background:#fff;border-left:3px solid #ccc}.err{background:#fdecea;border-left:3px solid
#c00}.ok{color:#070}.bad{color:#c00}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}</style>"""


def public_copy(nb, events: dict):
    """Replace every hidden-test block by a one-line note (in place; returns nb)."""
    verdicts = events.get("verdicts", {})
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and HIDDEN.search(cell.source):
            v = verdicts.get(meta.get("grade_id"), {})
            labels = ", ".join(sorted(set(l for l in v.get("labels", []) if l))) or meta.get("grade_id", "")
            note = (f"# hidden tests for {labels}: "
                    f"{'passed' if v.get('passed') else 'see the message below'}\n")
            cell.source = HIDDEN.sub(note, cell.source)
    return nb


def _markdown(text: str) -> str:
    try:
        import mistune
        return mistune.html(text)
    except Exception:
        return f"<pre>{html.escape(text)}</pre>"


def _outputs(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            cls = "err" if out.get("name") == "stderr" else "out"
            parts.append(f"<pre class={cls}>{html.escape(out.get('text', '')[:20000])}</pre>")
        elif kind == "error":
            text = ANSI.sub("", "\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
            parts.append(f"<pre class=err>{html.escape(text[:20000])}</pre>")
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            if "image/png" in data:
                parts.append(f"<img src='data:image/png;base64,{data['image/png']}'>")
            elif "text/plain" in data:
                parts.append(f"<pre class=out>{html.escape(str(data['text/plain'])[:20000])}</pre>")
    return "".join(parts)


def _ranges(numbers) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    out, run = [], []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def feedback_html(autograded_text: str, events: dict, scores: dict, student: str, assignment: str) -> str:
    nb = public_copy(nbformat.reads(autograded_text, as_version=4), events)
    got = sum(v or 0 for v in scores.get("scores", {}).values())
    full = sum(v or 0 for v in scores.get("max", {}).values())
    verdicts = events.get("verdicts", {})
    rows = []
    for gid, mx in scores.get("max", {}).items():
        score = scores.get("scores", {}).get(gid) or 0
        msg = " ".join(verdicts.get(gid, {}).get("messages", []))
        cls = "ok" if score == mx else "bad"
        rows.append(f"<tr><td>{html.escape(gid)}</td><td class={cls}>{score:g} / {mx:g}</td>"
                    f"<td>{html.escape(msg[:600])}</td></tr>")
    body = [f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(assignment)} — "
            f"{html.escape(student)}</title>{STYLE}</head><body>",
            f"<h1>{html.escape(assignment)}: feedback for {html.escape(student)}</h1>",
            f"<p><b>Score: {got:g} / {full:g}</b></p><table><tr><th>test</th><th>points</th>"
            f"<th>message</th></tr>{''.join(rows)}</table>"]
    skipped = events.get("skipped", [])
    if skipped:
        body.append(f"<p>{len(skipped)} cells were not re-run when grading, because no graded cell "
                    f"depends on them (demonstrations, plots, practice): cells {_ranges(skipped)}. "
                    "Their outputs are the ones in your own notebook.</p>")
    body.append("<hr>")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            body.append(_markdown(cell.source))
        elif cell.cell_type == "code":
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            title = f"<b>{html.escape(gid)}</b>" if gid in verdicts else ""
            body.append(f"{title}<pre>{html.escape(cell.source)}</pre>{_outputs(cell)}")
    body.append("</body></html>")
    return "\n".join(body)
