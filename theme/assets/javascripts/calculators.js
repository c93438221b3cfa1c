/* Calculators, live: the same evaluation as the server's (site_api/calculators/evaluate.py), step
   for step, on the definition each form carries (a JSON data block: no inline script, CSP-safe).
   Progressive only: without this file the form is a GET the server answers. Nothing entered is
   stored or sent anywhere while typing. tests/calculators/test_browser_calculators.py proves the two
   evaluations equal on every worked example and on random answers. */
(function () {
  "use strict";

  var NUMBER_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
  var MAX_ANSWER = 24;
  var UNIT_SUFFIX = "_unit";
  var SPACES = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;

  function own(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function get(raw, key) {
    return own(raw, key) && raw[key] !== null && raw[key] !== undefined ? String(raw[key]) : "";
  }

  function strip(text) {
    return text.replace(SPACES, "");
  }

  function holds(band, value) {
    if (band.from !== null && value < band.from) return false;
    if (band.above !== null && value <= band.above) return false;
    if (band.to !== null && value > band.to) return false;
    return !(band.below !== null && value >= band.below);
  }

  function unitOf(spec, name) {
    for (var i = 0; i < spec.units.length; i++) if (spec.units[i].unit === name) return spec.units[i];
    return null;
  }

  function toOwn(value, unit) {
    if (unit.multiply !== null) return value * unit.multiply;
    if (unit.divide !== null) return value / unit.divide;
    return value;
  }

  function fromOwn(value, unit) {
    if (unit.multiply !== null) return value / unit.multiply;
    if (unit.divide !== null) return value * unit.divide;
    return value;
  }

  function number(spec, raw, out) {
    var text = strip(get(raw, spec.id));
    var name = strip(get(raw, spec.id + UNIT_SUFFIX)) || spec.first;
    var unit = unitOf(spec, name);
    if (unit === null) {
      out.errors[spec.id] = "Choose a unit from the list (" + spec.offered.join(", ") + ").";
      return null;
    }
    if (!text) {
      out.missing.push(spec.id);
      out.errors[spec.id] = "Enter a value in " + name + ".";
      return null;
    }
    if (text.length > MAX_ANSWER || !NUMBER_RE.test(text)) {
      out.errors[spec.id] = "Enter a number in " + name + ", like " + unit.low + " or " + unit.high + ".";
      return null;
    }
    var value = toOwn(Number(text), unit);
    if (!(spec.min <= value && value <= spec.max)) {
      out.errors[spec.id] = "Enter a value from " + unit.low + " to " + unit.high + " " + name + ".";
      return null;
    }
    return value;
  }

  function answer(spec, raw, out) {
    if (spec.type === "number") {
      var value = number(spec, raw, out);
      if (value === null) return null;
      for (var i = 0; i < spec.bands.length; i++) {
        if (holds(spec.bands[i], value)) return [spec.bands[i].id, spec.bands[i].points];
      }
      out.errors[spec.id] = "This value falls in no band of the calculator.";
      return null;
    }
    var text = strip(get(raw, spec.id));
    if (!text) {
      out.missing.push(spec.id);
      out.errors[spec.id] = "Choose an answer.";
      return null;
    }
    if (spec.type === "yesno") {
      if (text !== "yes" && text !== "no") {
        out.errors[spec.id] = "Choose yes or no.";
        return null;
      }
      return [text, text === "yes" ? spec.yes : spec.no];
    }
    for (var j = 0; j < spec.choices.length; j++) {
      if (spec.choices[j].value === text) return [text, spec.choices[j].points];
    }
    out.errors[spec.id] = "Choose one of the answers listed.";
    return null;
  }

  function counts(spec, answers) {
    if (!spec.when) return true;
    for (var key in spec.when) {
      if (!own(spec.when, key)) continue;
      var given = own(answers, key) ? answers[key] : undefined;
      if (spec.when[key].indexOf(given) < 0) return false;
    }
    return true;
  }

  /* Mirrors evaluate() and Outcome.as_json() of evaluate.py. */
  function evaluate(def, raw) {
    var out = { errors: {}, missing: [], points: {}, score: null, band: null };
    var answers = Object.create(null);
    var rawPoints = Object.create(null);
    var i;
    for (i = 0; i < def.inputs.length; i++) {
      var found = answer(def.inputs[i], raw, out);
      if (found !== null) {
        answers[def.inputs[i].id] = found[0];
        rawPoints[def.inputs[i].id] = found[1];
      }
    }
    if (Object.keys(out.errors).length) return out;
    var counted = [];
    for (i = 0; i < def.inputs.length; i++) {
      var spec = def.inputs[i];
      var points = counts(spec, answers) ? rawPoints[spec.id] : 0;
      out.points[spec.id] = points;
      counted.push(points);
    }
    var score = def.method === "sum"
      ? counted.reduce(function (a, b) { return a + b; }, 0)
      : Math.max.apply(null, counted);
    out.score = score;
    for (i = 0; i < def.bands.length; i++) {
      if (holds(def.bands[i], score)) { out.band = def.bands[i].id; break; }
    }
    return out;
  }

  /* fixed() of evaluate.py: three decimals, halves up, trailing zeros dropped. */
  function fixed(value) {
    var text = value.toFixed(3);
    return text.indexOf(".") >= 0 ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }

  /* convert_text() of evaluate.py: the unit converter; null leaves the reader's text alone. */
  function convert(spec, text, from, to) {
    text = strip(text);
    var source = unitOf(spec, from);
    var target = unitOf(spec, to);
    if (source === null || target === null || !NUMBER_RE.test(text) || text.length > MAX_ANSWER) return null;
    var value = toOwn(Number(text), source);
    if (!(spec.min <= value && value <= spec.max)) return null;
    return fixed(fromOwn(value, target));
  }

  function pendingText(def, out) {
    var missing = out.missing.map(function (key) { return def.labels[key]; });
    var wrong = Object.keys(out.errors)
      .filter(function (key) { return out.missing.indexOf(key) < 0; })
      .map(function (key) { return def.labels[key]; });
    var parts = [];
    if (missing.length) parts.push("still to answer: " + missing.join(", "));
    if (wrong.length) parts.push("check: " + wrong.join(", "));
    return parts.join("; ") + ".";
  }

  function answersOf(form) {
    var raw = {};
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (!field.name || (field.type === "radio" && !field.checked)) continue;
      raw[field.name] = field.value;
    }
    return raw;
  }

  function paragraph(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function show(box, def, form, all) {
    var raw = answersOf(form);
    var out = evaluate(def, raw);
    def.inputs.forEach(function (spec) {
      var error = box.querySelector("#" + def.id + "-" + spec.id + "-error");
      var message = own(out.errors, spec.id) ? out.errors[spec.id] : "";
      // While typing, an empty field is not an error yet: only on Calculate.
      if (!all && out.missing.indexOf(spec.id) >= 0) message = "";
      if (error) error.textContent = message;
      var field = error && error.parentNode;
      if (field) field.classList.toggle("calculator__field--error", Boolean(message));
      var input = form.querySelector('input[type="text"][name="' + spec.id + '"]');
      if (input) {
        if (message) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    });
    var result = box.querySelector(".calculator__result");
    var parts = [];
    if (out.score !== null) {
      var band = def.bands.filter(function (b) { return b.id === out.band; })[0];
      var score = document.createElement("p");
      score.className = "calculator__score";
      var label = document.createElement("span");
      label.className = "calculator__score-label";
      label.textContent = def.label + ":";
      var value = document.createElement("strong");
      value.className = "calculator__score-value";
      value.textContent = String(out.score);
      score.append(label, " ", value);
      var strong = document.createElement("strong");
      strong.textContent = band.label;
      var bandLine = document.createElement("p");
      bandLine.className = "calculator__band";
      bandLine.append(strong);
      parts = [score, bandLine, paragraph("calculator__wording", band.text)];
    } else {
      parts = [paragraph("calculator__pending", "No result yet: " + pendingText(def, out))];
    }
    result.replaceChildren.apply(result, parts);
    return out;
  }

  function setUp(box) {
    var data = box.querySelector("script.calculator-definition");
    var form = box.querySelector("form.calculator__form");
    if (!data || !form) return;
    var def = JSON.parse(data.textContent);
    var specs = {};
    def.inputs.forEach(function (spec) { specs[spec.id] = spec; });
    form.addEventListener("input", function () { show(box, def, form, false); });
    form.addEventListener("change", function (event) {
      var select = event.target;
      if (select.tagName === "SELECT" && select.name.slice(-UNIT_SUFFIX.length) === UNIT_SUFFIX) {
        var spec = specs[select.name.slice(0, -UNIT_SUFFIX.length)];
        var input = form.querySelector('input[name="' + spec.id + '"]');
        var converted = convert(spec, input.value, select.dataset.unit || spec.first, select.value);
        if (converted !== null) input.value = converted;
        select.dataset.unit = select.value;
        var range = box.querySelector("#" + def.id + "-" + spec.id + "-range");
        if (range) range.textContent = unitOf(spec, select.value).range;
      }
      show(box, def, form, false);
    });
    form.querySelectorAll("select").forEach(function (select) { select.dataset.unit = select.value; });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show(box, def, form, true);
      var result = box.querySelector(".calculator__result");
      result.scrollIntoView({ block: "nearest" });
    });
  }

  window.NotebookCalculators = { evaluate: evaluate, convert: convert };
  document.querySelectorAll("div.calculator[data-calculator]").forEach(setUp);
})();
