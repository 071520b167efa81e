/* Complaint desk: the behaviour Flask-Admin's templates put in inline onclick= handlers and
 * javascript: links, wired here by data- attributes (the Content-Security-Policy runs no
 * inline handler). Loaded on every admin page (templates/admin/desk_base.html). */
(function () {
    'use strict';

    document.addEventListener('click', function (event) {
        var target = event.target;
        if (!(target instanceof Element)) {
            return;
        }

        // Bulk actions ("With selected" menu; templates/admin/actions.html).
        var action = target.closest('[data-desk-action]');
        if (action) {
            event.preventDefault();
            if (window.modelActions) {
                window.modelActions.execute(action.getAttribute('data-desk-action'));
            }
            return;
        }

        // Buttons that ask first (delete a row; templates/admin/model/row_actions.html).
        var confirming = target.closest('[data-desk-confirm]');
        if (confirming) {
            if (!window.confirm(confirming.getAttribute('data-desk-confirm'))) {
                event.preventDefault();
                event.stopImmediatePropagation();
            }
            return;
        }
    });

    // Links that only open a menu, add a filter or edit in place: never follow "#". In the
    // capture phase, because Flask-Admin's multi-level dropdown script stops the click's
    // propagation on menu toggles before it would reach the document.
    document.addEventListener('click', function (event) {
        var target = event.target;
        if (target instanceof Element && target.closest('a[href="#"]')) {
            event.preventDefault();
        }
    }, true);
})();

/* Accessibility (issue 11, part 10; H6): a list's in-place yes/no edit links show an icon
   only (Flask-Admin's form.js draws it): name each after its column ("Active"). */
(function () {
    document.querySelectorAll('a[data-role="x-editable-boolean"]').forEach(function (link) {
        var cell = link.closest('td');
        var table = link.closest('table');
        var header = cell && table ? table.querySelectorAll('thead th')[cell.cellIndex] : null;
        if (header && !link.hasAttribute('aria-label')) {
            link.setAttribute('aria-label', header.textContent.trim());
        }
    });
})();
