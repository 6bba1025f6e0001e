// The interactive part of llmspell's SVG flamegraph: hover details, click to zoom, search.
// Plain ES5 with no external resources, so the SVG works from a file in any browser.
(function () {
  "use strict";
  var svg = document.documentElement;
  var X0 = Number(svg.getAttribute("data-flame-x"));
  var W = Number(svg.getAttribute("data-flame-width"));
  var CHAR = Number(svg.getAttribute("data-char-width"));
  var details = document.getElementById("details");
  var hint = details.textContent;
  var resetButton = document.getElementById("reset-zoom");
  var searchButton = document.getElementById("search");
  var matched = document.getElementById("matched");
  var flame = document.getElementById("flame");
  var nodes = [];
  var byId = {};

  var groups = document.querySelectorAll("g.f");
  for (var i = 0; i < groups.length; i++) {
    var g = groups[i];
    var rect = g.querySelector("rect");
    var node = {
      g: g,
      rect: rect,
      text: g.querySelector("text"),
      x: Number(rect.getAttribute("x")),
      w: Number(rect.getAttribute("width")),
      parent: g.getAttribute("data-p"),
      name: g.getAttribute("data-n"),
      loc: g.getAttribute("data-l") || "",
      info: g.querySelector("title").textContent
    };
    nodes.push(node);
    byId[g.id] = node;
  }
  var root = nodes.length ? nodes[0] : null;

  function fit(name, width) {
    var room = Math.floor((width - 6) / CHAR);
    if (room < 3) return "";
    return name.length <= room ? name : name.slice(0, room - 2) + "..";
  }

  function place(node, x, width) {
    node.rect.setAttribute("x", x.toFixed(3));
    node.rect.setAttribute("width", width.toFixed(3));
    var label = fit(node.name, width);
    // Frames too narrow for a label were written without a <text>: add one when it fits.
    if (!node.text && label) {
      node.text = document.createElementNS(svg.namespaceURI, "text");
      var top = Number(node.rect.getAttribute("y"));
      node.text.setAttribute("y", top + Number(node.rect.getAttribute("height")) - 4);
      node.g.appendChild(node.text);
    }
    if (node.text) {
      node.text.setAttribute("x", (x + 3).toFixed(3));
      node.text.textContent = label;
    }
  }

  function ancestors(node) {
    var out = [];
    for (var id = node.parent; id; id = byId[id].parent) out.push(byId[id]);
    return out;
  }

  function isInside(node, top) {
    for (var id = node.parent; id; id = byId[id].parent) {
      if (byId[id] === top) return true;
    }
    return false;
  }

  // Zooming widens the frame to the full width, stretches its descendants with it, keeps its
  // callers (faded) above it and hides everything else.
  function zoom(target) {
    var callers = ancestors(target);
    var scale = W / target.w;
    nodes.forEach(function (node) {
      var shown = true;
      if (node === target || callers.indexOf(node) >= 0) {
        place(node, X0, W);
        node.g.classList.toggle("caller", node !== target);
      } else if (isInside(node, target)) {
        place(node, X0 + (node.x - target.x) * scale, node.w * scale);
        node.g.classList.remove("caller");
      } else {
        shown = false;
      }
      node.g.style.display = shown ? "" : "none";
    });
    resetButton.classList.toggle("off", target === root);
  }

  function resetZoom() {
    if (root) zoom(root);
  }

  function clearSearch() {
    nodes.forEach(function (node) { node.g.classList.remove("match"); });
    matched.textContent = "";
    searchButton.textContent = "Search";
  }

  // Matches are frames whose name or file:line contains the term (case-insensitive); their
  // share counts a match inside another match once, as the TUI's search does.
  function search(term) {
    var needle = term.toLowerCase();
    var hits = {};
    var count = 0;
    var covered = 0;
    nodes.forEach(function (node) {
      var hit = node !== root && (node.name.toLowerCase().indexOf(needle) >= 0 ||
                                  node.loc.toLowerCase().indexOf(needle) >= 0);
      node.g.classList.toggle("match", hit);
      if (hit) {
        hits[node.g.id] = true;
        count += 1;
      }
    });
    nodes.forEach(function (node) {
      if (hits[node.g.id] && !ancestors(node).some(function (a) { return hits[a.g.id]; })) {
        covered += node.w;
      }
    });
    searchButton.textContent = "Clear search";
    matched.textContent = count
      ? "Matched \"" + term + "\": " + (100 * covered / root.w).toFixed(1) + "% (" + count +
        (count === 1 ? " frame)" : " frames)")
      : "No frame matches \"" + term + "\"";
  }

  function askSearch() {
    if (!root) return;
    var term = window.prompt("Search frames (name or file:line):", "");
    if (term) search(term);
  }

  flame.addEventListener("click", function (event) {
    var g = event.target.closest("g.f");
    if (g) zoom(byId[g.id]);
  });
  flame.addEventListener("mouseover", function (event) {
    var g = event.target.closest("g.f");
    if (g) details.textContent = byId[g.id].info;
  });
  flame.addEventListener("mouseout", function () { details.textContent = hint; });
  resetButton.addEventListener("click", resetZoom);
  searchButton.addEventListener("click", function () {
    if (searchButton.textContent === "Search") askSearch(); else clearSearch();
  });
  matched.addEventListener("click", clearSearch);
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === "f" || event.key === "F")) {
      event.preventDefault();
      askSearch();
    } else if (event.key === "Escape") {
      resetZoom();
    }
  });
})();
