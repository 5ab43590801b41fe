/* The transmission chain of /cases/{id}/chain, drawn with Cytoscape.js from the JSON the page carries
   (<script type="application/json" id="chain-data">). Tapping a case, a contact or a link shows its details in the
   side panel. Every text arrives translated in the JSON, and the colours come from cases.css, so this file holds
   neither. When drawn, the container gets data-ready, data-nodes and data-edges (all of the graph) and
   data-visible (the nodes shown), which the browser tests read. */
(function () {
  "use strict";

  function start() {
    var container = document.getElementById("chain-graph");
    var source = document.getElementById("chain-data");
    var panel = document.getElementById("chain-panel");
    if (!container || !source || typeof window.cytoscape !== "function") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var css = window.getComputedStyle(container);
    var color = function (name) {
      return css.getPropertyValue("--chain-" + name).trim();
    };
    var font = window.getComputedStyle(document.body).fontFamily;
    var crowded = data.nodes.length > 30;
    var small = window.matchMedia("(max-width: 40rem)").matches;

    var elements = [];
    data.nodes.forEach(function (node) {
      var classes = [node.kind, node.kind + "-" + node.status];
      if (node.root) {
        classes.push("root");
      }
      elements.push({ group: "nodes", data: node, classes: classes.join(" ") });
    });
    data.edges.forEach(function (edge) {
      elements.push({ group: "edges", data: edge, classes: edge.status });
    });

    var cy = window.cytoscape({
      container: container,
      elements: elements,
      minZoom: 0.2,
      maxZoom: 3,
      // On a phone a finger on the graph should scroll the page, not pan it; tapping still selects.
      userPanningEnabled: !small,
      userZoomingEnabled: !small,
      boxSelectionEnabled: false,
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "font-family": font,
            "font-size": 12,
            color: color("ink"),
            "text-valign": "bottom",
            "text-margin-y": 4,
            "text-wrap": "ellipsis",
            "text-max-width": 110,
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.8,
            "text-background-padding": 1,
            width: 26,
            height: 26,
            "background-color": color("candidate"),
            "border-width": 2,
            "border-color": "#ffffff"
          }
        },
        { selector: "node.case", style: { shape: "round-rectangle", width: 40, height: 40, "font-weight": "bold" } },
        { selector: "node.case-confirmed", style: { "background-color": color("case-confirmed") } },
        { selector: "node.case-asymptomatic", style: { "background-color": color("case-asymptomatic") } },
        { selector: "node.case-suspected", style: { "background-color": color("case-suspected") } },
        { selector: "node.contact-close", style: { "background-color": color("close") } },
        { selector: "node.contact-secondary", style: { "background-color": color("secondary") } },
        { selector: "node.contact-companion", style: { "background-color": color("companion") } },
        {
          selector: "node.contact-candidate",
          style: { "background-color": "#ffffff", "border-color": color("candidate"), "border-style": "dashed" }
        },
        { selector: "node.root", style: { "border-width": 4, "border-color": color("root") } },
        // A hundred candidates' names would cover each other: theirs show on the selected node only.
        { selector: "node.contact-candidate", style: { label: crowded ? "" : "data(label)" } },
        { selector: "node:selected", style: { label: "data(label)" } },
        {
          selector: "edge",
          style: {
            width: 2,
            "curve-style": "bezier",
            "line-color": color("edge"),
            "target-arrow-color": color("edge"),
            "target-arrow-shape": "triangle",
            label: "data(label)",
            "font-family": font,
            "font-size": 10,
            color: color("muted"),
            "text-rotation": "none", // Chinese turned on its side is hard to read
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.85,
            "text-background-padding": 2
          }
        },
        { selector: "edge.candidate", style: { "line-style": "dashed", width: crowded ? 1 : 2, opacity: crowded ? 0.6 : 1 } },
        // Many links: their labels would cover each other, so they show only on the selected link.
        { selector: "edge.quiet", style: { label: "" } },
        { selector: "edge:selected", style: { label: "data(label)", width: 4, "line-color": color("focus") } },
        { selector: "node:selected", style: { "overlay-color": color("focus"), "overlay-opacity": 0.35, "z-index": 10 } },
        { selector: ".hidden", style: { display: "none" } }
      ]
    });

    // Rings around the case: its other linked cases, then confirmed contacts, candidates, and contacts found
    // through a contact (secondary) outside. A case has one contact or a hundred (the colleagues of a factory
    // worker): rings stay readable at both sizes, where a tree would be a line a hundred nodes long. A crowd of
    // candidates is dealt over several staggered rings of about RING nodes, a disc rather than one thin circle.
    var RING = 36;
    function layOut() {
      var visible = cy.elements().not(".hidden");
      var candidates = visible.nodes(".contact-candidate").filter(function (node) {
        return node.incomers("node.contact").length === 0;
      });
      var bands = Math.max(1, Math.ceil(candidates.length / RING));
      var shown = cy.edges().filter(function (edge) {
        return !edge.source().hasClass("hidden") && !edge.target().hasClass("hidden");
      });
      cy.edges().toggleClass("quiet", shown.length > 24);
      var band = {};
      candidates.forEach(function (node, i) {
        band[node.id()] = (i % bands) / bands; // in [0, 1): the candidates' rings lie between 2 and 3
      });
      var layout = visible.layout({
        name: "concentric",
        // A ring starts on the long side of the box: two contacts lie either side, across a desk's width or
        // along a phone's height.
        startAngle: container.clientHeight > container.clientWidth ? 1.5 * Math.PI : Math.PI,
        concentric: function (node) {
          var item = node.data();
          if (item.root) {
            return 10;
          }
          if (item.kind === "case") {
            return 9;
          }
          if (node.incomers("node.contact").length) {
            return 1;
          }
          return item.status === "candidate" ? 3 - band[node.id()] : 5;
        },
        levelWidth: function () {
          return 0.9 / bands; // each band of candidates a ring of its own (0.9: floating point slack)
        },
        // Few nodes: room between the rings for the links' labels.
        minNodeSpacing: visible.nodes().length <= 12 ? 110 : 14,
        padding: 24,
        animate: false
      });
      layout.one("layoutstop", function () {
        cy.fit(visible, 24);
        if (cy.zoom() > 1.5) {
          cy.zoom(1.5); // a case with two contacts is not drawn as three plates
          cy.center(visible);
        }
        container.dataset.nodes = String(cy.nodes().length);
        container.dataset.edges = String(cy.edges().length);
        container.dataset.visible = String(visible.nodes().length);
        container.dataset.ready = "true";
      });
      layout.run();
    }

    // Candidates nobody has decided on yet can be a hundred colleagues: past CROWD they are hidden until asked
    // for, so that the cases and decided contacts stay readable. The switch is in the page, hidden without script.
    var CROWD = 30;
    var undecided = cy.nodes(".contact-candidate");
    var toggle = document.getElementById("chain-candidates");
    if (toggle && undecided.length) {
      toggle.checked = undecided.length <= CROWD;
      undecided.toggleClass("hidden", !toggle.checked);
      toggle.closest("label").hidden = false;
      toggle.addEventListener("change", function () {
        undecided.toggleClass("hidden", !toggle.checked);
        layOut();
      });
    }
    layOut();
    window.cy = cy;

    function show(element) {
      var item = element.data();
      panel.replaceChildren();
      var title = document.createElement("h2");
      title.className = "chain__title";
      title.textContent = item.title;
      panel.appendChild(title);
      var list = document.createElement("dl");
      list.className = "chain__details";
      item.details.forEach(function (pair) {
        var term = document.createElement("dt");
        term.textContent = pair[0];
        var value = document.createElement("dd");
        value.textContent = pair[1];
        list.append(term, value);
      });
      panel.appendChild(list);
      if (item.url) {
        var link = document.createElement("a");
        link.className = "button";
        link.href = item.url;
        link.textContent = data.texts.open_case;
        panel.appendChild(link);
      }
    }

    var hint = panel.innerHTML;
    cy.on("tap", "node, edge", function (event) {
      show(event.target);
    });
    cy.on("tap", function (event) {
      if (event.target === cy) {
        panel.innerHTML = hint; // the template's own hint, put back as it was
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
