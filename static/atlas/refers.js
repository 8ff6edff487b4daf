// "What refers here?": clicking (or pressing Enter on) a body-map cell opens that region's referrers.
for (const box of document.querySelectorAll("[data-refers-map]")) {
  const go = (cell) => {
    const url = new URL(box.dataset.refersUrl, window.location.href);
    url.searchParams.set("region", cell.split(":")[0]);
    window.location.assign(url);
  };
  box.addEventListener("click", (event) => {
    const cell = event.target.closest("[data-cell]");
    if (cell) go(cell.dataset.cell);
  });
}
