/* Complaint desk: the registration form looks the customer up while the clerk types a
 * phone or an e-mail (admin_views/customers.py, lookup.json), and shows their open and
 * recent complaints, with a warning when one is still open. Text only (textContent), no
 * HTML from the answer; loaded by templates/complaint_create.html (no inline script). */
(function () {
    'use strict';

    var box = document.getElementById('customer-lookup');
    if (!box) {
        return;
    }
    var url = box.getAttribute('data-lookup-url');
    var phone = document.getElementById('customer_phone');
    var email = document.getElementById('customer_email');
    var token = document.querySelector('#complaint-register-form input[name="csrf_token"]');
    var timer = null;
    var asked = '';

    function clear() {
        while (box.firstChild) {
            box.removeChild(box.firstChild);
        }
        box.hidden = true;
        box.className = 'customer-lookup';
    }

    function add(parent, tag, text, className) {
        var el = document.createElement(tag);
        if (text) {
            el.textContent = text;
        }
        if (className) {
            el.className = className;
        }
        parent.appendChild(el);
        return el;
    }

    function list(title, rows) {
        if (!rows || !rows.length) {
            return;
        }
        add(box, 'div', title, 'small text-muted mt-1');
        var ul = add(box, 'ul', '', 'mb-1 customer-lookup-rows');
        rows.forEach(function (row) {
            var li = add(ul, 'li');
            var a = add(li, 'a', row.number);
            a.href = row.url;
            a.target = '_blank';
            a.rel = 'noopener';
            add(li, 'span', ' · ' + row.status + ' · ' + row.received_at + ' · ' + row.title);
        });
    }

    function show(data) {
        clear();
        if (!data || (!data.open.length && !data.recent.length)) {
            return;
        }
        box.className = 'customer-lookup alert alert-' + (data.level === 'warning' ? 'warning' : 'info');
        if (data.message) {
            add(box, 'div', data.message, 'font-weight-bold');
        }
        list(box.getAttribute('data-open-label'), data.open);
        list(box.getAttribute('data-recent-label'), data.recent);
        if (data.customer_url) {
            var a = add(box, 'a', box.getAttribute('data-file-label'), 'small customer-lookup-file');
            a.href = data.customer_url;
            a.target = '_blank';
            a.rel = 'noopener';
        }
        box.hidden = false;
    }

    function ask() {
        var p = phone ? phone.value.trim() : '';
        var e = email ? email.value.trim() : '';
        var query = 'phone=' + encodeURIComponent(p) + '&email=' + encodeURIComponent(e);
        if (query === asked) {
            return;
        }
        asked = query;
        if (p.replace(/\D/g, '').length < 5 && e.indexOf('@') < 0) {
            clear();
            return;
        }
        // POST, the form's CSRF token with it: the phone never goes into a URL.
        var body = new FormData();
        body.append('csrf_token', token ? token.value : '');
        body.append('phone', p);
        body.append('email', e);
        fetch(url, {
            method: 'POST',
            body: body,
            credentials: 'same-origin',
            headers: {'Accept': 'application/json'}
        }).then(function (response) {
            return response.ok ? response.json() : null;
        }).then(function (data) {
            if (data && query === asked) {
                show(data);
            }
        }).catch(function () { /* the form works without the lookup */ });
    }

    function later() {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, 400);
    }

    [phone, email].forEach(function (input) {
        if (input) {
            input.addEventListener('input', later);
            input.addEventListener('change', ask);
        }
    });
    if (phone && phone.parentNode) {  // right under the phone field
        phone.parentNode.appendChild(box);
    }
    ask();
}());
