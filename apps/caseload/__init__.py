"""The caseload: the patients a staff member looks after, searched and filtered by what the apps below know about
them (open alerts, adherence, injections, calcium, exercise). It sits above those apps and imports their filters
directly, so the REST patient list and the console's patient list filter the same way, and a filter nobody
implements is an error rather than a list that silently stops filtering."""
