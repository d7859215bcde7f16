/* The worklist refreshes its list every data-refresh-seconds (issue 14) without losing what is being typed:
   every block marked data-keep (an alert's row with its forms, the several-at-once form) that is being typed in,
   ticked or focused stays as it is, and the fresh list is built around it. If such a block has gone from the fresh
   list (someone else resolved that alert), the refresh waits, so nothing typed disappears. No framework. */
(function () {
  "use strict";
  var box = document.getElementById("worklist-list");
  if (!box || !window.fetch || !window.DOMParser) { return; }
  var url = box.getAttribute("data-refresh-url");
  var every = (parseInt(box.getAttribute("data-refresh-seconds"), 10) || 60) * 1000;

  function changed(el) {
    if (el.type === "checkbox" || el.type === "radio") { return el.checked !== el.defaultChecked; }
    if (el.tagName === "SELECT") {
      for (var i = 0; i < el.options.length; i++) {
        if (el.options[i].selected !== el.options[i].defaultSelected) { return true; }
      }
      return false;
    }
    return el.type !== "hidden" && el.value !== el.defaultValue;
  }

  function busy(block) {
    if (block.contains(document.activeElement)) { return true; }
    var details = block.querySelectorAll("details[open]");
    if (details.length) { return true; }
    var fields = block.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) { if (changed(fields[i])) { return true; } }
    return false;
  }

  function refresh() {
    if (document.hidden) { return; }
    fetch(url + window.location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("worklist-list");
        if (!fresh) { return; }
        var keep = [];
        var blocks = box.querySelectorAll("[data-keep]");
        for (var i = 0; i < blocks.length; i++) {
          if (!busy(blocks[i])) { continue; }
          var twin = fresh.querySelector('[data-keep="' + blocks[i].getAttribute("data-keep") + '"]');
          if (!twin) { return; } /* it left the list: keep the page as it is until the typing is done */
          keep.push([blocks[i], twin]);
        }
        var focused = document.activeElement;
        var caret = focused && "selectionStart" in focused ? [focused.selectionStart, focused.selectionEnd] : null;
        keep.forEach(function (pair) { pair[1].replaceWith(pair[0]); });
        box.replaceChildren.apply(box, Array.prototype.slice.call(fresh.childNodes));
        if (focused && box.contains(focused) && document.activeElement !== focused) {
          focused.focus();
          if (caret) { try { focused.setSelectionRange(caret[0], caret[1]); } catch (e) { /* not a text field */ } }
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  window.setInterval(refresh, every);
  box.setAttribute("data-refresh-ready", "1");
  window.bonesyncRefreshWorklist = refresh; /* lets the browser test refresh now instead of waiting a minute */
}());
