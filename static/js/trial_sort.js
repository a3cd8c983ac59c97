// The study page's trial table, sorted from its headers: a click on a
// column's header sorts the table by that column on the server
// (GET /api/studies/<id>/trials?sort=, the keys of studies/trial_table.py),
// a second click reverses the order, an arrow marks the current one. The
// Sort menu and the headers hold one order, the menu's value: a header
// click picks the menu's entry for that order (or its "by column" entry),
// and a shortcut of the menu ("best" first) marks the header it sorts by.
"use strict";

const TrialSort = (() => {
  const flip = (sort) => (sort.startsWith("-") ? sort.slice(1) : "-" + sort);

  // The sort a menu value sends: "best", "worst" and "final" follow the study's mode.
  function resolve(value, mode) {
    const best = mode === "min" ? "best_score" : "-best_score";
    const final = mode === "min" ? "final_score" : "-final_score";
    return { best, worst: flip(best), final }[value] || value || "-number";
  }

  // A header's first click: scores best first (the study's mode), epochs and
  // duration most first, the other columns ascending; on the column the table
  // is sorted by, the reverse order.
  function next(current, key, mode, isScore) {
    if (current.replace(/^-/, "") === key) return flip(current);
    if (isScore) return mode === "min" ? key : "-" + key;
    return key === "epochs" || key === "duration" ? "-" + key : key;
  }

  // Selects the menu's entry for `sort`; its "by column" entry when no other sends it.
  function setMenu(select, sort, mode, label) {
    const custom = select.querySelector("#trial-sort-column");
    const match = [...select.options].find((o) => o !== custom && resolve(o.value, mode) === sort);
    if (match) {
      select.value = match.value;
      return;
    }
    custom.value = sort;
    custom.textContent = `${label} ${sort.startsWith("-") ? "↓" : "↑"}`;
    select.value = sort;
  }

  // Marks the header of `sort` (class "sorted", aria-sort: the arrow), clears the others.
  function mark(thead, select, sort) {
    const key = sort.replace(/^-/, "");
    thead.querySelectorAll("button.th-sort").forEach((b) => {
      const on = b.dataset.sort === key;
      b.classList.toggle("sorted", on);
      if (on) b.setAttribute("aria-sort", sort.startsWith("-") ? "descending" : "ascending");
      else b.removeAttribute("aria-sort");
    });
    const custom = select.querySelector("#trial-sort-column");
    custom.hidden = select.selectedOptions[0] !== custom;
  }

  // A sort button per parameter, in the Params header (any parameter sorts:
  // numbers as numbers, the others as text).
  function paramButtons(box, space) {
    if (!box || box.childElementCount) return;
    for (const name of Object.keys(space || {})) {
      box.append(hp.el("button", { type: "button", class: "th-sort param", "data-sort": `param.${name}`, title: `sort by ${name}` }, name));
    }
  }

  return { resolve, next, setMenu, mark, paramButtons };
})();
