// Notes (and a study's tags) on the study and trial pages: first shown as
// the server rendered them, edited in place, saved with POST <card's
// data-url> ({notes, tags}); a refused field shows its message under it. The
// saved notes are drawn from the answer's notes_doc, studies.markdown's tree
// ([tag, {href}, [children]] or a text), with text nodes only.
"use strict";

(() => {
  function renderTags(box, tags) {
    if (!box) return;
    hp.clear(box).append(...tags.map((t) => hp.el("a", { class: "stag", href: "/?tag=" + encodeURIComponent(t), "data-tag": t }, t)));
  }

  const TAGS = new Set(["p", "br", "h3", "h4", "h5", "ul", "ol", "li", "pre", "code", "strong", "em", "a"]);

  function build(node) {
    if (typeof node === "string") return node;
    const [tag, attrs, children] = node;
    const safeTag = TAGS.has(tag) ? tag : "span";
    const href = safeTag === "a" && /^https?:\/\//i.test(attrs.href || "") ? attrs.href : null;
    return hp.el(safeTag, href ? { href, rel: "nofollow noopener noreferrer" } : {}, (children || []).map(build));
  }

  function showNotes(body, doc) {
    hp.clear(body);
    if (doc.length) body.append(...doc.map(build));
    else body.append(hp.el("p", { class: "muted empty-notes" }, "No notes yet."));
  }

  document.querySelectorAll(".notes-card").forEach((card) => {
    const body = card.querySelector(".notes-body");
    const form = card.querySelector(".notes-form");
    const notes = form.querySelector(".notes-input");
    const tags = form.querySelector(".tags-input");
    const saved = { notes: notes.value, tags: tags ? tags.value : "" };
    const errorBox = (field) => form.querySelector(`.${field}-error`);

    function editing(on) {
      form.hidden = !on;
      body.hidden = on;
      card.querySelector(".notes-edit").hidden = on;
      if (on) notes.focus();
      ["notes", "tags", "all"].forEach((f) => { const e = errorBox(f); if (e) e.hidden = true; });
    }

    card.querySelector(".notes-edit").addEventListener("click", () => editing(true));
    form.querySelector(".notes-cancel").addEventListener("click", () => {
      notes.value = saved.notes;
      if (tags) tags.value = saved.tags;
      editing(false);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const payload = { notes: notes.value };
      if (tags) payload.tags = tags.value;
      const result = await hp.api(card.dataset.url, { method: "POST", body: payload });
      if (!result.ok) {
        const errors = (result.data && result.data.errors) || { __all__: hp.errorText(result) };
        for (const [field, message] of Object.entries(errors)) {
          const box = errorBox(field === "__all__" ? "all" : field) || errorBox("all");
          box.textContent = message;
          box.hidden = false;
        }
        return;
      }
      saved.notes = notes.value = result.data.notes;
      if (tags) saved.tags = tags.value = result.data.tags.join(", ");
      showNotes(body, result.data.notes_doc);
      if (result.data.tags) renderTags(card.querySelector(".tag-list"), result.data.tags);
      editing(false);
      hp.toast("notes saved");
    });
  });
})();
