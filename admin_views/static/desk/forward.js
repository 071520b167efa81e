/* Complaint desk: the forward form offers only the people of the chosen department.
 * Each person's option names its department (data-department, admin_views/complaint_forms.py);
 * when the department changes, the others are hidden and disabled, and a person of another
 * department is unselected. The server refuses such a person anyway (rules.procedure).
 * Loaded by templates/complaint_action.html for the forward action only (no inline script). */
(function () {
    'use strict';

    var department = document.getElementById('department_id');
    var person = document.getElementById('assignee_id');
    if (!department || !person) {
        return;
    }

    function filter() {
        var chosen = department.value;
        var options = person.querySelectorAll('option[data-department]');
        for (var i = 0; i < options.length; i += 1) {
            var option = options[i];
            var mine = chosen !== '' && option.getAttribute('data-department') === chosen;
            option.hidden = !mine;
            option.disabled = !mine;
            if (!mine && option.selected) {
                person.value = '';
            }
        }
        var groups = person.querySelectorAll('optgroup');
        for (var j = 0; j < groups.length; j += 1) {
            var shown = groups[j].querySelector('option:not([disabled])');
            groups[j].hidden = !shown;
        }
    }

    department.addEventListener('change', filter);
    filter();
}());
