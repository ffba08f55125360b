/* Chat widget of the Servicecenter 115 (vanilla JS, no cookies).
 *
 * Embed: <div data-sc-chat></div> <script src="https://…/static/chat-widget.js" defer></script>
 * Optional data-server="https://servicecenter.example" on the div (default: same origin).
 * The conversation id lives in sessionStorage only (a reload of the tab restores the chat; a new tab starts anew).
 * Every text from the server is inserted with textContent: nothing is interpreted as HTML.
 */
(function () {
  "use strict";

  var SCHLUESSEL = "sc115-chat-id";
  var WER = { bot: "Assistent", buerger: "Sie", agent: "Servicecenter", system: "Hinweis" };
  var LAGE = {
    bot: "Sie chatten mit dem digitalen Assistenten der Stadt (einem Bot).",
    warteschlange: "Sie warten auf eine Mitarbeiterin oder einen Mitarbeiter des Servicecenters. Sie können schon schreiben.",
    mensch: "Sie chatten mit einer Mitarbeiterin oder einem Mitarbeiter des Servicecenters."
  };
  var URL_MUSTER = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)])/g;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") { e.className = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function neueId() {
    var b = new Uint8Array(24);
    (window.crypto || window.msCrypto).getRandomValues(b);
    var s = "";
    for (var i = 0; i < b.length; i++) { s += String.fromCharCode(b[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function speicherLesen() {
    try { return window.sessionStorage.getItem(SCHLUESSEL); } catch (e) { return null; }
  }

  function speicherSchreiben(id) {
    try { window.sessionStorage.setItem(SCHLUESSEL, id); } catch (e) { /* private mode: memory only */ }
  }

  function textMitLinks(ziel, text) {
    var teile = String(text).split(URL_MUSTER);
    teile.forEach(function (t, i) {
      if (i % 2 === 1) {
        var a = el("a", { href: t, rel: "noopener noreferrer", target: "_blank" }, t);
        ziel.appendChild(a);
      } else if (t) {
        ziel.appendChild(document.createTextNode(t));
      }
    });
  }

  function Widget(wurzel) {
    this.wurzel = wurzel;
    this.server = (wurzel.getAttribute("data-server") || "").replace(/\/$/, "");
    this.maxZeichen = parseInt(wurzel.getAttribute("data-max-zeichen") || "1000", 10);
    this.id = speicherLesen();
    this.gesehen = {};
    this.letzteId = 0;
    this.quelle = null;
    this.eigentuemer = "bot";
    this.bauen();
    if (this.id) { this.wiederherstellen(); } else { this.begruessen(); }
  }

  Widget.prototype.api = function (pfad) {
    return this.server + "/api/v1/chat/" + encodeURIComponent(this.id) + pfad;
  };

  Widget.prototype.bauen = function () {
    var w = this.wurzel;
    var nr = Math.floor(Math.random() * 1e6);
    w.setAttribute("role", "region");
    w.setAttribute("aria-label", "Chat mit dem Servicecenter 115");
    this.lage = el("p", { "class": "sc-chat-status", role: "status" }, LAGE.bot);
    this.log = el("div", { "class": "sc-chat-log", role: "log", "aria-live": "polite", "aria-label": "Gesprächsverlauf",
      tabindex: "0" });
    var form = el("form", { "class": "sc-chat-form", novalidate: "" });
    var feldId = "sc-chat-text-" + nr;
    form.appendChild(el("label", { "for": feldId }, "Ihre Nachricht"));
    var zeile = el("div", { "class": "sc-chat-zeile" });
    this.feld = el("textarea", { id: feldId, rows: "2", maxlength: String(this.maxZeichen), autocomplete: "off",
      "aria-describedby": "sc-chat-hilfe-" + nr });
    this.senden = el("button", { type: "submit" }, "Senden");
    zeile.appendChild(this.feld);
    zeile.appendChild(this.senden);
    form.appendChild(zeile);
    form.appendChild(el("p", { id: "sc-chat-hilfe-" + nr, "class": "sc-chat-hilfe" },
      "Enter sendet, Umschalt+Enter beginnt eine neue Zeile. Höchstens " + this.maxZeichen + " Zeichen."));
    this.mensch = el("button", { type: "button", "class": "sc-chat-nebenknopf" }, "Mit einem Menschen sprechen");
    this.fehler = el("p", { "class": "sc-chat-fehler", role: "alert" });
    w.appendChild(this.lage);
    w.appendChild(this.log);
    w.appendChild(form);
    w.appendChild(this.mensch);
    w.appendChild(this.fehler);
    w.appendChild(this.ticketBauen(nr));

    var self = this;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = self.feld.value.trim();
      if (text) { self.schicken(text, text); }
    });
    this.feld.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
    this.mensch.addEventListener("click", function () { self.menschAnfordern(); });
  };

  Widget.prototype.ticketBauen = function (nr) {
    var self = this;
    var bereich = el("section", { "class": "sc-chat-ticket", "aria-labelledby": "sc-chat-ticket-titel-" + nr });
    bereich.hidden = true;
    bereich.appendChild(el("h2", { id: "sc-chat-ticket-titel-" + nr }, "Anliegen als Ticket senden"));
    bereich.appendChild(el("p", {}, "Wir antworten innerhalb von 24 Stunden (Servicezeit: Montag bis Freitag 8 bis " +
      "18 Uhr). Sie erhalten eine Vorgangsnummer und einen Zugangscode für die Statusabfrage."));
    var form = el("form", { novalidate: "" });
    form.appendChild(el("label", { "for": "sc-chat-email-" + nr }, "Ihre E-Mail-Adresse für die Antwort (freiwillig)"));
    this.email = el("input", { type: "email", id: "sc-chat-email-" + nr, autocomplete: "email", maxlength: "254" });
    form.appendChild(this.email);
    var einw = el("p", { "class": "sc-chat-einwilligung" });
    this.einwilligung = el("input", { type: "checkbox", id: "sc-chat-einwilligung-" + nr });
    einw.appendChild(this.einwilligung);
    einw.appendChild(document.createTextNode(" "));
    einw.appendChild(el("label", { "for": "sc-chat-einwilligung-" + nr }, "Ich bin einverstanden, dass die Stadt " +
      "meine E-Mail-Adresse speichert, um mir zu diesem Anliegen zu antworten."));
    form.appendChild(einw);
    form.appendChild(el("label", { "for": "sc-chat-anliegen-" + nr }, "Ihr Anliegen (Pflichtfeld)"));
    this.anliegen = el("textarea", { id: "sc-chat-anliegen-" + nr, rows: "4", maxlength: "10000", required: "" });
    form.appendChild(this.anliegen);
    this.ticketKnopf = el("button", { type: "submit" }, "Anliegen senden");
    form.appendChild(this.ticketKnopf);
    this.ticketFehler = el("p", { "class": "sc-chat-fehler", role: "alert" });
    form.appendChild(this.ticketFehler);
    this.ticketErgebnis = el("div", { "class": "sc-chat-ergebnis", role: "status", tabindex: "-1" });
    this.ticketErgebnis.hidden = true;
    bereich.appendChild(form);
    bereich.appendChild(this.ticketErgebnis);
    this.ticketForm = form;
    this.ticketBereich = bereich;
    form.addEventListener("submit", function (ev) { ev.preventDefault(); self.ticketSenden(); });
    return bereich;
  };

  Widget.prototype.begruessen = function () {
    this.zeigen({ von: "bot", text: "Guten Tag! Ich bin der digitale Assistent der Stadt Halle (Saale), ein Bot. " +
      "Fragen Sie mich zum Beispiel, was Sie für einen Personalausweis brauchen.", buttons: [] });
  };

  Widget.prototype.zeigen = function (n) {
    if (n.id) {
      if (this.gesehen[n.id]) { return; }
      this.gesehen[n.id] = true;
      if (n.id > this.letzteId) { this.letzteId = n.id; }
    }
    var self = this;
    var li = el("div", { "class": "sc-chat-nachricht von-" + n.von });
    li.appendChild(el("span", { "class": "sc-chat-wer" }, (WER[n.von] || "Hinweis") + ":"));
    var t = el("span", { "class": "sc-chat-text" });
    textMitLinks(t, n.text || "");
    li.appendChild(t);
    if (n.buttons && n.buttons.length) {
      var gruppe = el("div", { "class": "sc-chat-knoepfe", role: "group", "aria-label": "Antwortmöglichkeiten" });
      n.buttons.forEach(function (b) {
        var k = el("button", { type: "button" }, b.title);
        k.addEventListener("click", function () { self.knopf(b); });
        gruppe.appendChild(k);
      });
      li.appendChild(gruppe);
    }
    this.log.appendChild(li);
    this.log.scrollTop = this.log.scrollHeight;
  };

  Widget.prototype.knopf = function (b) {
    if (b.payload === "widget:ticketformular") { this.ticketZeigen(true); return; }
    if (b.payload === "widget:mensch") { this.menschAnfordern(); return; }
    this.schicken(b.payload, b.title);
  };

  Widget.prototype.lageSetzen = function (eigentuemer, ticketformular) {
    this.eigentuemer = eigentuemer;
    this.lage.textContent = LAGE[eigentuemer] || LAGE.bot;
    this.mensch.hidden = eigentuemer !== "bot";
    if (ticketformular) { this.ticketZeigen(false); }
  };

  Widget.prototype.ticketZeigen = function (fokus) {
    var neu = this.ticketBereich.hidden;
    this.ticketBereich.hidden = false;
    if (!this.anliegen.value) {
      var eigene = Array.prototype.slice.call(this.log.querySelectorAll(".von-buerger .sc-chat-text"));
      this.anliegen.value = eigene.map(function (e) { return e.textContent; }).join("\n").slice(-2000);
    }
    if (fokus || neu) { this.email.focus(); }
  };

  Widget.prototype.sicherstellen = function () {
    if (!this.id) {
      this.id = neueId();
      speicherSchreiben(this.id);
    }
  };

  Widget.prototype.fehlerZeigen = function (antwort, standard) {
    var self = this;
    if (!antwort) { self.fehler.textContent = standard; return Promise.resolve(); }
    var warten = antwort.headers.get("Retry-After");
    return antwort.json().then(function (d) {
      self.fehler.textContent = (d && d.detail ? d.detail : standard) +
        (antwort.status === 429 && warten ? " (Bitte warten Sie etwa " + warten + " Sekunden.)" : "");
    }, function () { self.fehler.textContent = standard; });
  };

  Widget.prototype.schicken = function (text, anzeige) {
    var self = this;
    if (this.beschaeftigt) { return; }  // one turn at a time: the answers stay in order
    this.beschaeftigt = true;
    this.sicherstellen();
    this.fehler.textContent = "";
    this.senden.disabled = true;
    fetch(this.api("/nachrichten"), {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ text: text })
    }).then(function (r) {
      if (!r.ok) { return self.fehlerZeigen(r, "Ihre Nachricht konnte nicht gesendet werden."); }
      self.zeigen({ von: "buerger", text: anzeige });
      self.feld.value = "";
      return r.json().then(function (d) {
        (d.antworten || []).forEach(function (a) { self.zeigen({ von: "bot", text: a.text, buttons: a.buttons }); });
        self.lageSetzen(d.eigentuemer === "mensch" && self.eigentuemer === "bot" ? "warteschlange" :
          (d.eigentuemer === "bot" ? "bot" : self.eigentuemer), false);
        self.verbinden();
      });
    }, function () {
      self.fehler.textContent = "Keine Verbindung zum Servicecenter. Bitte versuchen Sie es noch einmal oder rufen Sie die 115 an.";
    }).then(function () {
      self.beschaeftigt = false;
      self.senden.disabled = false;
      self.feld.focus();
    });
  };

  Widget.prototype.menschAnfordern = function () {
    var self = this;
    this.sicherstellen();
    this.fehler.textContent = "";
    fetch(this.api("/uebergabe"), { method: "POST", credentials: "omit" }).then(function (r) {
      if (!r.ok) { return self.fehlerZeigen(r, "Die Anfrage konnte nicht gesendet werden."); }
      return r.json().then(function (d) {
        self.zeigen({ von: "bot", text: d.text });
        if (d.ergebnis === "warteschlange") { self.lageSetzen("warteschlange", false); self.feld.focus(); }
        else { self.ticketZeigen(true); }
        self.verbinden();
      });
    }, function () { self.fehler.textContent = "Keine Verbindung zum Servicecenter."; });
  };

  Widget.prototype.ticketSenden = function () {
    var self = this;
    this.sicherstellen();
    this.ticketFehler.textContent = "";
    var email = this.email.value.trim();
    if (!this.anliegen.value.trim()) {
      this.ticketFehler.textContent = "Bitte beschreiben Sie Ihr Anliegen.";
      this.anliegen.focus();
      return;
    }
    if (email && !this.einwilligung.checked) {
      this.ticketFehler.textContent = "Bitte bestätigen Sie die Einwilligung, oder lassen Sie die E-Mail-Adresse weg.";
      this.einwilligung.focus();
      return;
    }
    this.ticketKnopf.disabled = true;
    fetch(this.api("/ticket"), {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ text: this.anliegen.value, email: email || null, einwilligung: this.einwilligung.checked })
    }).then(function (r) {
      if (r.status !== 201) {
        return r.json().then(function (d) { self.ticketFehler.textContent = d.detail || "Das hat nicht geklappt."; },
          function () { self.ticketFehler.textContent = "Das hat nicht geklappt."; });
      }
      return r.json().then(function (d) {
        self.ticketForm.hidden = true;
        var e = self.ticketErgebnis;
        e.textContent = "";
        e.appendChild(el("p", {}, "Vielen Dank! Ihr Anliegen ist bei uns eingegangen. Wir antworten innerhalb von 24 Stunden (Servicezeit)."));
        var dl = el("dl");
        dl.appendChild(el("dt", {}, "Vorgangsnummer"));
        dl.appendChild(el("dd", { "class": "sc-chat-nummer" }, d.nummer));
        dl.appendChild(el("dt", {}, "Zugangscode (bitte notieren)"));
        dl.appendChild(el("dd", { "class": "sc-chat-code" }, d.zugangscode));
        e.appendChild(dl);
        var p = el("p");
        p.appendChild(el("a", { href: d.status_url }, "Bearbeitungsstand abfragen"));
        e.appendChild(p);
        e.hidden = false;
        e.focus();
      });
    }, function () { self.ticketFehler.textContent = "Keine Verbindung zum Servicecenter."; }).then(function () {
      self.ticketKnopf.disabled = false;
    });
  };

  Widget.prototype.wiederherstellen = function () {
    var self = this;
    fetch(this.api(""), { credentials: "omit" }).then(function (r) {
      if (r.status === 404) { self.id = null; self.begruessen(); return; }
      if (!r.ok) { return; }
      return r.json().then(function (d) {
        self.begruessen();
        (d.nachrichten || []).forEach(function (n) { self.zeigen(n); });
        self.lageSetzen(d.eigentuemer, d.ticketformular);
        self.verbinden();
      });
    }, function () { self.begruessen(); });
  };

  Widget.prototype.verbinden = function () {
    if (this.quelle || !this.id || !window.EventSource) { return; }
    var self = this;
    var q = new EventSource(this.api("/stream?nach=" + this.letzteId));
    this.quelle = q;
    q.addEventListener("nachricht", function (ev) {
      try { self.zeigen(JSON.parse(ev.data)); } catch (e) { /* ignore a broken event */ }
    });
    q.addEventListener("zustand", function (ev) {
      try {
        var z = JSON.parse(ev.data);
        self.lageSetzen(z.eigentuemer, z.ticketformular);
      } catch (e) { /* ignore */ }
    });
  };

  function start() {
    var wurzeln = document.querySelectorAll("[data-sc-chat]");
    for (var i = 0; i < wurzeln.length; i++) {
      if (!wurzeln[i].scChat) { wurzeln[i].scChat = new Widget(wurzeln[i]); }
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
