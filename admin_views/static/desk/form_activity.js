/* Complaint desk: typing in a form is activity. While the user types or chooses in a form
 * of this page, the session is kept alive by a small request to the view's keepalive/ at most
 * every 5 minutes (admin_views/complaint_form_views.py), so that a form filled in during a
 * long call is not lost to the idle timeout; a page nobody touches still times out.
 * Loaded by the complaint form templates (no inline script). */
(function () {
    'use strict';

    var marker = document.querySelector('[data-keepalive-url]');
    if (!marker || !window.fetch) {
        return;
    }
    var url = marker.getAttribute('data-keepalive-url');
    var every = 5 * 60 * 1000;
    var last = Date.now();
    var typed = false;

    function touched() {
        typed = true;
    }

    function beat() {
        if (!typed || Date.now() - last < every) {
            return;
        }
        typed = false;
        last = Date.now();
        window.fetch(url, {credentials: 'same-origin', cache: 'no-store'}).catch(function () {
            return null;
        });
    }

    var forms = document.querySelectorAll('form.admin-form');
    for (var i = 0; i < forms.length; i += 1) {
        forms[i].addEventListener('input', touched);
        forms[i].addEventListener('change', touched);
    }
    window.setInterval(beat, 30 * 1000);
}());
