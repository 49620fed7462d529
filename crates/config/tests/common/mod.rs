//! Helpers shared by the config crate's integration tests.

/// `pairs` as owned strings, collected into a map (an environment) or a list.
pub(crate) fn owned<C: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> C {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
