//! Pure rules of the register: masking, addresses, registration rates.

/// Masks a person's name for anyone but themselves: the first and last characters stay, the
/// rest become `*` ("张三明" → "张*明", "张三" → "张*", "欧阳娜娜" → "欧**娜"). Works on characters,
/// not bytes, since names are Chinese.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// The postal form of a house's address within its estate: "3号楼2单元301".
pub fn house_address(building_label: &str, unit_label: &str, room_label: &str) -> String {
    if unit_label.is_empty() {
        format!("{building_label}{room_label}")
    } else {
        format!("{building_label}{unit_label}单元{room_label}")
    }
}

/// The registration rate as a sort key in parts per million, rounded down.
pub fn registration_ppm(registered_houses: i64, houses: i64) -> i64 {
    if houses <= 0 {
        0
    } else {
        ((registered_houses as i128 * 1_000_000) / houses as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_names_by_character() {
        assert_eq!(mask_name("张三明"), "张*明");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("Li Wei"), "L****i");
    }

    #[test]
    fn addresses_read_like_the_register() {
        assert_eq!(house_address("3号楼", "2", "301"), "3号楼2单元301");
        assert_eq!(house_address("地下车库", "", "B-017"), "地下车库B-017");
    }

    #[test]
    fn registration_ppm_rounds_down() {
        assert_eq!(registration_ppm(758, 842), 900_237);
        assert_eq!(registration_ppm(0, 0), 0);
        assert_eq!(registration_ppm(3, 3), 1_000_000);
    }
}
