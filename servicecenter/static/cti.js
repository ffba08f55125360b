// Screen pop for incoming calls: listens to /desk/anrufe/stream (Server-Sent Events) and renders into
// <div id="anruf-popup" role="status" aria-live="assertive"></div>. Does nothing when that element is absent.
// All data goes into the DOM via textContent (never innerHTML), so caller data cannot inject markup.
// The desk may react to calls itself: a CustomEvent "anruf" with the message as `detail` is dispatched on
// document, and every <input data-anruf-id> gets the current callId (for the contact form).
(function () {
  "use strict";
  var ziel = document.getElementById("anruf-popup");
  if (!ziel || typeof window.EventSource === "undefined") { return; }
  var quelle = ziel.getAttribute("data-stream") || "/desk/anrufe/stream";
  var ticketUrl = ziel.getAttribute("data-ticket-url"); // e.g. "/desk/tickets/{nummer}"
  var aktuell = null;

  function el(tag, text, klasse) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (klasse) { e.className = klasse; }
    return e;
  }

  function datum(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    return d.toLocaleDateString("de-DE") + " " + d.toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit" });
  }

  function eintrag(t) {
    var li = el("li");
    var art = t.art === "ticket" ? "Ticket " + (t.ticket_nummer || "") : "Kontakt vom " + datum(t.datum);
    if (t.art === "ticket" && ticketUrl && t.ticket_nummer) {
      var a = el("a", art);
      a.href = ticketUrl.replace("{nummer}", encodeURIComponent(t.ticket_nummer));
      li.appendChild(a);
    } else {
      li.appendChild(el("strong", art));
    }
    var teile = [];
    if (t.ticket_zustand) { teile.push(t.art === "ticket" ? t.ticket_zustand : "Ticket " + t.ticket_nummer + ": " + t.ticket_zustand); }
    if (t.name) { teile.push(t.name); }
    if (t.text) { teile.push(t.text); }
    if (!t.sicher && t.grund) { teile.push("Hinweis: " + t.grund); }
    if (teile.length) { li.appendChild(document.createTextNode(" – " + teile.join(" · "))); }
    return li;
  }

  function liste(titel, eintraege) {
    var teil = el("section");
    teil.appendChild(el("h3", titel));
    var ul = el("ul");
    eintraege.forEach(function (t) { ul.appendChild(eintrag(t)); });
    teil.appendChild(ul);
    return teil;
  }

  function schliessen() {
    aktuell = null;
    ziel.replaceChildren();
  }

  function zustandZeile(n) {
    var text = "Status: " + n.zustand_text;
    if (n.wartezeit_sekunden !== null && n.zustand !== "klingelt") { text += ", Wartezeit " + n.wartezeit_sekunden + " s"; }
    if (n.dauer_sekunden !== null && n.zustand === "beendet") { text += ", Gesprächsdauer " + n.dauer_sekunden + " s"; }
    return text;
  }

  function zeigen(n) {
    aktuell = n.call_id;
    ziel.replaceChildren();
    var box = el("div", null, "anruf-popup");
    box.appendChild(el("h2", "Eingehender Anruf: " + n.nummer));
    if (n.nummer_ungeprueft) { box.appendChild(el("p", "Die Rufnummer konnte nicht geprüft werden; Treffer werden nicht gesucht.")); }
    var zeile = el("p", zustandZeile(n), "anruf-zustand");
    box.appendChild(zeile);
    if (n.queue) { box.appendChild(el("p", "Warteschlange: " + n.queue)); }
    var offen = n.offene_tickets || [];
    var treffer = (n.treffer || []).filter(function (t) { return !(t.art === "ticket" && t.offen); });
    var moeglich = n.moeglich || [];
    if (offen.length) { box.appendChild(liste("Offene Tickets dieser Rufnummer", offen)); }
    if (treffer.length) { box.appendChild(liste("Frühere Kontakte dieser Rufnummer", treffer)); }
    if (moeglich.length) { box.appendChild(liste("Mögliche Treffer (nicht verknüpft – bitte beim Anrufenden nachfragen)", moeglich)); }
    if (!offen.length && !treffer.length && !moeglich.length && !n.anonym && !n.nummer_ungeprueft) {
      box.appendChild(el("p", "Zu dieser Rufnummer sind keine früheren Kontakte oder Tickets bekannt."));
    }
    var knopf = el("button", "Hinweis schließen");
    knopf.type = "button";
    knopf.addEventListener("click", schliessen);
    box.appendChild(knopf);
    ziel.appendChild(box);
  }

  function aktualisieren(n) {
    if (n.call_id !== aktuell) { return; }
    var zeile = ziel.querySelector(".anruf-zustand");
    if (zeile) { zeile.textContent = zustandZeile(n); }
  }

  function verarbeiten(ereignis) {
    var n;
    try { n = JSON.parse(ereignis.data); } catch (e) { return; }
    if (!n || n.typ !== "anruf") { return; }
    if (n.ereignis === "newCall" && n.richtung === "in") {
      zeigen(n);
    } else {
      aktualisieren(n);
    }
    if (n.ereignis === "newCall" || n.ereignis === "answer") {
      document.querySelectorAll("input[data-anruf-id]").forEach(function (i) { i.value = n.call_id; });
    }
    document.dispatchEvent(new CustomEvent("anruf", { detail: n }));
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && aktuell !== null && ziel.contains(document.activeElement)) { schliessen(); }
  });
  var es = new EventSource(quelle);
  es.addEventListener("anruf", verarbeiten);
  // Marks the live connection (used by the browser test and visible for troubleshooting).
  es.addEventListener("open", function () { ziel.dataset.verbunden = "ja"; });
  es.addEventListener("error", function () { ziel.dataset.verbunden = "nein"; });
})();
