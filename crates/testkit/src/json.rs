//! Reading the JSON that commands and the API answer with.

use serde_json::Value;

/// The string `field` of every element of the array `list`, in order.
///
/// # Panics
/// When `list` is not an array or an element's `field` is not a string, naming them.
pub fn strings<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} is not a string in {item}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_of_every_element_in_order() {
        let list = serde_json::json!([{"id": "b"}, {"id": "a", "x": 1}]);
        assert_eq!(strings(&list, "id"), ["b", "a"]);
    }

    #[test]
    #[should_panic(expected = "id is not a string in {\"id\":3}")]
    fn an_element_without_the_string_is_named() {
        strings(&serde_json::json!([{"id": "a"}, {"id": 3}]), "id");
    }
}
