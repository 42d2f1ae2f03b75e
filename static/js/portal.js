/*
 * Placement Portal – progressive enhancement only. No dependencies.
 * Load with <script src="…/portal.js" defer>. Pages work fully without it.
 *   1. Error summary: focus it on load; its "#id" links move focus to the
 *      control and scroll its label or legend into view.
 *   2. Word count: textarea[data-word-limit] updates the message in the
 *      element named by data-word-count-target (a polite live region).
 *   3. Import progress: [data-import-job-progress] polls its data-url (JSON)
 *      and moves the bar; the page reloads when the job has finished (without
 *      this, the page's meta refresh does the same more slowly).
 */
(function () {
  'use strict';

  if (!document.querySelector || !document.addEventListener || !window.addEventListener) {
    return;
  }

  function closest(element, selector) {
    if (!element || element.nodeType !== 1) { return null; }
    if (element.closest) { return element.closest(selector); }
    return null;
  }

  function viewportHeight() {
    return window.innerHeight || document.documentElement.clientHeight || 0;
  }

  /* ---------- 1. Error summary ---------- */

  function findLabel(input) {
    if (input.id) {
      var labels = document.getElementsByTagName('label');
      for (var i = 0; i < labels.length; i++) {
        if (labels[i].htmlFor === input.id) { return labels[i]; }
      }
    }
    return closest(input, 'label');
  }

  // Radios and checkboxes: the question is the legend. Other controls in a
  // fieldset: use the legend only if the control stays in view beneath it.
  function findLegend(input) {
    var fieldset = closest(input, 'fieldset');
    if (!fieldset) { return null; }
    var legend = fieldset.querySelector('legend');
    if (!legend) { return null; }
    if (input.type === 'checkbox' || input.type === 'radio') { return legend; }
    var legendTop = legend.getBoundingClientRect().top;
    var rect = input.getBoundingClientRect();
    if (rect.height && rect.top + rect.height - legendTop < viewportHeight() / 2) {
      return legend;
    }
    return null;
  }

  function focusControl(id) {
    var input = document.getElementById(id);
    if (!input || typeof input.focus !== 'function') { return false; }
    var anchor = findLegend(input) || findLabel(input) || input;
    try { anchor.scrollIntoView(); } catch (e) { /* very old browser: ignore */ }
    try {
      input.focus({ preventScroll: true });
    } catch (e) {
      input.focus();
    }
    return document.activeElement === input;
  }

  function initErrorSummary() {
    var summary = document.querySelector('[data-module="error-summary"]');
    if (!summary) { return; }
    if (!summary.hasAttribute('tabindex')) { summary.setAttribute('tabindex', '-1'); }
    summary.focus();

    summary.addEventListener('click', function (event) {
      var link = closest(event.target, 'a');
      if (!link || !summary.contains(link)) { return; }
      var href = link.getAttribute('href') || '';
      if (href.charAt(0) !== '#' || href.length < 2) { return; }
      var id = href.slice(1);
      try { id = decodeURIComponent(id); } catch (e) { /* keep the raw id */ }
      if (focusControl(id)) { event.preventDefault(); }
    });
  }

  /* ---------- 2. Word count ---------- */

  var DEBOUNCE_MS = 500;
  var OVER_CLASS = 'pp-word-count--over';

  function countWords(text) {
    var words = String(text || '').match(/\S+/g);
    return words ? words.length : 0;
  }

  function wordCountMessage(limit, count) {
    var remaining = limit - count;
    var n = Math.abs(remaining);
    var noun = n === 1 ? 'word' : 'words';
    return remaining >= 0
      ? 'You have ' + n + ' ' + noun + ' remaining'
      : 'You have ' + n + ' ' + noun + ' too many';
  }

  var wordCounters = [];

  function initWordCount(textarea) {
    var limit = parseInt(textarea.getAttribute('data-word-limit'), 10);
    var targetId = textarea.getAttribute('data-word-count-target');
    var target = targetId ? document.getElementById(targetId) : null;
    if (!(limit > 0) || !target) { return; }

    var timer = null;
    function update() {
      timer = null;
      var count = countWords(textarea.value);
      var text = wordCountMessage(limit, count);
      if (target.textContent !== text) { target.textContent = text; }
      if (target.classList) { target.classList.toggle(OVER_CLASS, count > limit); }
    }
    function schedule() {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(update, DEBOUNCE_MS);
    }

    // Sync silently first (the browser may have restored the text), then
    // make the message a polite live region for changes while typing.
    update();
    if (!target.hasAttribute('aria-live')) { target.setAttribute('aria-live', 'polite'); }
    textarea.addEventListener('input', schedule);
    wordCounters.push(update);
  }

  function initWordCounts() {
    var textareas = document.querySelectorAll('textarea[data-word-limit]');
    for (var i = 0; i < textareas.length; i++) {
      try { initWordCount(textareas[i]); } catch (e) { /* leave the server message */ }
    }
    // Back/forward cache can restore typed text after load.
    window.addEventListener('pageshow', function (event) {
      if (!event.persisted) { return; }
      for (var j = 0; j < wordCounters.length; j++) { wordCounters[j](); }
    });
  }

  /* ---------- 3. Import progress ---------- */

  var POLL_MS = 1500;

  function initImportProgress() {
    var box = document.querySelector('[data-import-job-progress]');
    if (!box || !window.fetch || !window.JSON) { return; }
    var url = box.getAttribute('data-url');
    var bar = box.querySelector('progress');
    function show(selector, value) {
      var element = box.querySelector(selector);
      if (element) { element.textContent = value; }
    }
    function toggle(selector, visible) {
      var element = box.querySelector(selector);
      if (element) { element.hidden = !visible; }
    }
    function poll() {
      window.fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (job.finished) { window.location.reload(); return; }
          if (bar) { bar.value = job.percent; bar.textContent = job.percent + '%'; }
          var writing = job.rows_to_write !== null && job.rows_to_write !== undefined;
          show('[data-rows-checked]', job.rows_checked.toLocaleString('en-GB'));
          show('[data-rows-written]', job.rows_written.toLocaleString('en-GB'));
          show('[data-percent]', String(job.percent));
          var label = box.querySelector('[data-phase-label]');
          if (label) { label.textContent = writing ? label.getAttribute('data-writing-label') : 'Rows checked'; }
          if (writing) { show('[data-rows-to-write]', job.rows_to_write.toLocaleString('en-GB')); }
          toggle('[data-writing]', writing);
          toggle('[data-checking-percent]', job.phase === 'checking');
          window.setTimeout(poll, POLL_MS);
        })
        .catch(function () { /* the "Check progress now" link still works */ });
    }
    window.setTimeout(poll, POLL_MS);
  }

  /* ---------- Start ---------- */

  function init() {
    try { initErrorSummary(); } catch (e) { /* never break the page */ }
    try { initWordCounts(); } catch (e) { /* never break the page */ }
    try { initImportProgress(); } catch (e) { /* never break the page */ }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
