/* Complaint desk: a job's page (templates/admin/job.html) follows its job without reload:
 * it asks status.json every second and moves the progress bar, the row count and the
 * status; once done it shows the download link, once failed the reason. */
(function () {
    'use strict';
    var box = document.getElementById('job');
    if (!box) {
        return;
    }
    var url = box.getAttribute('data-status-url');
    var bar = document.getElementById('job-progress');
    var status = document.getElementById('job-status');
    var rows = document.getElementById('job-rows');
    var error = document.getElementById('job-error');
    var download = document.getElementById('job-download');
    var cancel = document.getElementById('job-cancel');
    var rowsText = box.getAttribute('data-rows-text');

    function number(n) {
        return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    }

    function show(state) {
        bar.value = state.progress;
        bar.textContent = state.progress + '%';
        status.textContent = state.label;
        if (state.rows_total) {
            rows.textContent = rowsText.replace('{done}', number(state.rows_done))
                .replace('{total}', number(state.rows_total));
        }
        if (state.error) {
            error.textContent = state.error;
            error.classList.remove('d-none');
        }
        if (state.has_file) {
            download.classList.remove('d-none');
        }
        var ended = ['done', 'failed', 'cancelled'].indexOf(state.status) >= 0;
        if (ended && cancel) {
            cancel.classList.add('d-none');
        }
        return ended;
    }

    function poll() {
        fetch(url, {credentials: 'same-origin', cache: 'no-store'})
            .then(function (response) { return response.ok ? response.json() : null; })
            .then(function (state) {
                if (state && show(state)) {
                    return;
                }
                window.setTimeout(poll, 1000);
            })
            .catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 300);
}());
