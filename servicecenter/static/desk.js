// Keyboard-first desk: "/" focuses the search, arrows move through hits, Enter opens the card,
// "c" copies the answer text, Escape returns to the search. Loaded with `defer`; no inline script (CSP).
(function () {
  "use strict";

  var suche = document.getElementById("desk-q");
  var treffer = document.getElementById("treffer");
  var meldung = document.getElementById("meldung");
  var gemeldet = {};
  var leerlauf = null;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function melden(text) {
    if (!meldung) return;
    // Clear first so the same message is announced again.
    meldung.textContent = "";
    window.setTimeout(function () { meldung.textContent = text; }, 30);
  }

  function imTextfeld(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function links() {
    return treffer ? Array.prototype.slice.call(treffer.querySelectorAll("a.treffer-link")) : [];
  }

  // --- Wissenslücken: report a finished search once (Enter, a pause, leaving the field) ---------------
  function lueckeMelden() {
    if (!suche) return;
    var q = suche.value.trim();
    if (q.length < 3 || gemeldet[q]) return;
    gemeldet[q] = true;
    var body = new URLSearchParams();
    body.set("q", q);
    fetch("/desk/suche/luecke", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin"
    }).catch(function () { /* a lost count is harmless */ });
  }

  // --- copying the answer ----------------------------------------------------------------------------
  function kopieren() {
    var feld = document.getElementById("antworttext");
    if (!feld) { melden("Keine Antwortkarte geöffnet."); return; }
    var text = feld.value;
    function fallback() {
      feld.removeAttribute("tabindex");
      feld.focus();
      feld.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      melden(ok ? "Antworttext kopiert." : "Kopieren nicht möglich. Bitte markieren Sie den Text selbst.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        melden("Antworttext kopiert.");
        var knopf = document.querySelector("[data-kopieren]");
        if (knopf) { knopf.classList.add("kopiert"); }
      }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (ev) {
    var knopf = ev.target.closest ? ev.target.closest("[data-kopieren]") : null;
    if (knopf) { ev.preventDefault(); kopieren(); }
  });

  // --- keys ------------------------------------------------------------------------------------------
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var aktiv = document.activeElement;
    if (ev.key === "/" && !imTextfeld(aktiv) && suche) {
      ev.preventDefault();
      suche.focus();
      suche.select();
      return;
    }
    if ((ev.key === "c" || ev.key === "C") && !imTextfeld(aktiv) && document.getElementById("antworttext")) {
      ev.preventDefault();
      kopieren();
      return;
    }
    if (ev.key === "Escape" && suche && aktiv !== suche) {
      suche.focus();
      return;
    }
    var liste = links();
    if (!liste.length) return;
    var i = liste.indexOf(aktiv);
    if (aktiv === suche) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); liste[0].focus(); }
      else if (ev.key === "Enter") {
        // Enter in the search opens the first hit once results are there.
        ev.preventDefault();
        lueckeMelden();
        liste[0].click();
      }
      return;
    }
    if (i >= 0) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); liste[Math.min(i + 1, liste.length - 1)].focus(); }
      else if (ev.key === "ArrowUp") {
        ev.preventDefault();
        if (i === 0 && suche) { suche.focus(); } else { liste[i - 1].focus(); }
      }
    }
  });

  if (suche) {
    suche.addEventListener("keyup", function (ev) {
      if (ev.key === "Enter" || ev.key.indexOf("Arrow") === 0) return;
      if (leerlauf) window.clearTimeout(leerlauf);
      leerlauf = window.setTimeout(lueckeMelden, 2500);
    });
    suche.addEventListener("blur", function () {
      if (leerlauf) { window.clearTimeout(leerlauf); leerlauf = null; }
      lueckeMelden();
    });
    // Without results yet, Enter submits the form (page reload) – keep it for the no-htmx case only.
    var formular = document.getElementById("desk-suchformular");
    if (formular) {
      formular.addEventListener("submit", function (ev) {
        if (window.htmx) { ev.preventDefault(); window.htmx.trigger(suche, "search"); lueckeMelden(); }
      });
    }
  }

  // --- after htmx swaps --------------------------------------------------------------------------------
  document.body.addEventListener("htmx:afterSwap", function (ev) {
    var ziel = ev.detail && ev.detail.target;
    if (!ziel) return;
    if (ziel.id === "karte") {
      var titel = document.getElementById("karte-titel");
      if (titel) { titel.focus(); melden("Antwortkarte geöffnet: " + titel.textContent.trim()); }
    } else if (ziel.id === "kontakt") {
      var ok = document.getElementById("kontakt-erfasst");
      if (ok) { ok.focus(); return; }
      var fehler = document.getElementById("kontakt-fehler");
      if (fehler) { fehler.setAttribute("tabindex", "-1"); fehler.focus(); }
    }
  });

  // Opening a card counts as a finished search.
  document.body.addEventListener("htmx:beforeRequest", function (ev) {
    var el = ev.detail && ev.detail.elt;
    if (el && el.classList && el.classList.contains("treffer-link")) { lueckeMelden(); }
  });
})();
