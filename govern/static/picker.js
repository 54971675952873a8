// The person picker as you type: the search field asks /people/search and refills the select with its matches.
// Without JavaScript the page works the same way by hand: search, then choose.
(function () {
  "use strict";
  document.querySelectorAll("select[data-picker-search]").forEach(function (select) {
    var input = document.getElementById(select.dataset.pickerInput);
    if (!input) { return; }
    var timer = null;
    var asked = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2) { return; }
        var ticket = ++asked;
        fetch(select.dataset.pickerSearch + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (found) {
            if (!found || ticket !== asked) { return; }
            var placeholder = select.options[0];
            select.replaceChildren(placeholder);
            found.items.forEach(function (person) {
              var option = document.createElement("option");
              option.value = String(person.id);
              option.textContent = person.label;
              select.appendChild(option);
            });
          })
          .catch(function () { /* the Find button still works */ });
      }, 250);
    });
  });
})();
