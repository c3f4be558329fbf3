//! Blood groups, products and compatibility.
//!
//! A scenario uses either the eight ABO/RhD groups ([`GroupSystem::AboRhd`]) or one
//! ungrouped product ([`GroupSystem::Single`], for textbook single-product models).
//! Groups are dense indices (`usize`) so engine state can be flat arrays; labels and
//! compatibility live here and nowhere else.

use std::fmt;

/// ABO blood type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abo {
    O,
    A,
    B,
    AB,
}

/// One of the eight ABO/RhD groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AboRhd {
    pub abo: Abo,
    pub rhd_positive: bool,
}

/// The eight groups in the order used for indices: O+, O-, A+, A-, B+, B-, AB+, AB-.
pub const ABO_RHD_GROUPS: [AboRhd; 8] = [
    AboRhd {
        abo: Abo::O,
        rhd_positive: true,
    },
    AboRhd {
        abo: Abo::O,
        rhd_positive: false,
    },
    AboRhd {
        abo: Abo::A,
        rhd_positive: true,
    },
    AboRhd {
        abo: Abo::A,
        rhd_positive: false,
    },
    AboRhd {
        abo: Abo::B,
        rhd_positive: true,
    },
    AboRhd {
        abo: Abo::B,
        rhd_positive: false,
    },
    AboRhd {
        abo: Abo::AB,
        rhd_positive: true,
    },
    AboRhd {
        abo: Abo::AB,
        rhd_positive: false,
    },
];

/// Labels of [`ABO_RHD_GROUPS`], as written in scenario files.
pub const ABO_RHD_LABELS: [&str; 8] = ["O+", "O-", "A+", "A-", "B+", "B-", "AB+", "AB-"];

/// Label of the only group of an ungrouped scenario.
pub const SINGLE_LABEL: &str = "any";

impl AboRhd {
    /// Red-cell rule: donor cells carry no antigen the recipient lacks (ABO and RhD).
    pub fn red_cells_compatible(donor: AboRhd, recipient: AboRhd) -> bool {
        let abo_ok = match (donor.abo, recipient.abo) {
            (Abo::O, _) => true,
            (d, r) if d == r => true,
            (_, Abo::AB) => true,
            _ => false,
        };
        abo_ok && (recipient.rhd_positive || !donor.rhd_positive)
    }

    /// Plasma rule: the reverse of red cells for ABO (AB plasma suits everyone); RhD does not matter.
    pub fn plasma_compatible(donor: AboRhd, recipient: AboRhd) -> bool {
        let d = AboRhd {
            abo: recipient.abo,
            rhd_positive: true,
        };
        let r = AboRhd {
            abo: donor.abo,
            rhd_positive: true,
        };
        Self::red_cells_compatible(d, r)
    }
}

/// Which groups a scenario distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSystem {
    /// The eight ABO/RhD groups.
    AboRhd,
    /// One ungrouped product.
    Single,
}

impl GroupSystem {
    pub fn count(self) -> usize {
        match self {
            GroupSystem::AboRhd => 8,
            GroupSystem::Single => 1,
        }
    }

    pub fn label(self, group: usize) -> &'static str {
        match self {
            GroupSystem::AboRhd => ABO_RHD_LABELS[group],
            GroupSystem::Single => SINGLE_LABEL,
        }
    }

    pub fn labels(self) -> Vec<&'static str> {
        (0..self.count()).map(|g| self.label(g)).collect()
    }

    /// Index of a label, if the system has it.
    pub fn index_of(self, label: &str) -> Option<usize> {
        (0..self.count()).find(|&g| self.label(g) == label)
    }
}

/// Blood products a scenario can stock.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    RedCells,
    Platelets,
    Plasma,
    WholeBlood,
}

impl Product {
    pub const ALL: [Product; 4] = [
        Product::RedCells,
        Product::Platelets,
        Product::Plasma,
        Product::WholeBlood,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Product::RedCells => "red_cells",
            Product::Platelets => "platelets",
            Product::Plasma => "plasma",
            Product::WholeBlood => "whole_blood",
        }
    }

    /// Donor groups a recipient may receive, most preferred first (always starting with the
    /// recipient's own group). Only compatible groups appear.
    ///
    /// Red cells and whole blood: identical, same ABO with RhD-negative, then O (RhD+ before
    /// RhD-, to spare O-). Plasma: identical, same ABO other RhD, then AB. Platelets are
    /// ABO-preferred, not ABO-restricted: identical, same ABO other RhD (RhD+ recipients
    /// only), then other ABO groups in plasma-compatible order; RhD- recipients get RhD+
    /// platelets only as a last resort.
    pub fn preference_order(self, system: GroupSystem, recipient: usize) -> Vec<usize> {
        if system == GroupSystem::Single {
            return vec![0];
        }
        let r = ABO_RHD_GROUPS[recipient];
        let mut candidates: Vec<usize> = (0..8)
            .filter(|&d| self.compatible(system, d, recipient))
            .collect();
        candidates.sort_by_key(|&d| {
            let donor = ABO_RHD_GROUPS[d];
            let same_abo = donor.abo == r.abo;
            let same_rhd = donor.rhd_positive == r.rhd_positive;
            match self {
                // Identical, same ABO, then the universal donor group; within it, same RhD
                // first (spares O- for red cells).
                Product::RedCells | Product::WholeBlood | Product::Plasma => {
                    (d != recipient, false, !same_abo, !same_rhd, d)
                }
                Product::Platelets => {
                    let rh_penalty = !r.rhd_positive && donor.rhd_positive;
                    let plasma_ok = AboRhd::plasma_compatible(donor, r);
                    (d != recipient, rh_penalty, !same_abo, !plasma_ok, d)
                }
            }
        });
        candidates
    }

    /// RhD-positive red cells an RhD-negative recipient may get when the service switches
    /// to RhD-positive in a shortage (men and women past childbearing age: facts §3
    /// [30][31]), in the preference order of the recipient's RhD-positive twin (same ABO,
    /// then group O, then for AB the other groups). Empty for RhD-positive
    /// recipients, ungrouped scenarios and products where RhD is not matched this way
    /// (platelets already fall back to RhD-positive; plasma ignores RhD).
    pub fn rhd_positive_switch(self, system: GroupSystem, recipient: usize) -> Vec<usize> {
        let red_cells = matches!(self, Product::RedCells | Product::WholeBlood);
        if system == GroupSystem::Single || !red_cells || ABO_RHD_GROUPS[recipient].rhd_positive {
            return Vec::new();
        }
        let twin = (0..8)
            .find(|&g| {
                ABO_RHD_GROUPS[g].abo == ABO_RHD_GROUPS[recipient].abo
                    && ABO_RHD_GROUPS[g].rhd_positive
            })
            .expect("every ABO group has an RhD-positive member");
        self.preference_order(system, twin)
            .into_iter()
            .filter(|&d| ABO_RHD_GROUPS[d].rhd_positive)
            .collect()
    }

    /// Whether a unit of group `donor` may be issued to a recipient of group `recipient`.
    pub fn compatible(self, system: GroupSystem, donor: usize, recipient: usize) -> bool {
        if system == GroupSystem::Single {
            return donor == 0 && recipient == 0;
        }
        let (d, r) = (ABO_RHD_GROUPS[donor], ABO_RHD_GROUPS[recipient]);
        match self {
            Product::RedCells | Product::WholeBlood => AboRhd::red_cells_compatible(d, r),
            Product::Plasma => AboRhd::plasma_compatible(d, r),
            Product::Platelets => true,
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(label: &str) -> usize {
        GroupSystem::AboRhd.index_of(label).unwrap()
    }

    fn order(product: Product, recipient: &str) -> Vec<&'static str> {
        product
            .preference_order(GroupSystem::AboRhd, idx(recipient))
            .into_iter()
            .map(|g| ABO_RHD_LABELS[g])
            .collect()
    }

    #[test]
    fn red_cell_compatibility_matches_the_chart() {
        // (recipient, compatible donors) from the standard chart (facts §3, [29]).
        let cases = [
            ("O-", vec!["O-"]),
            ("O+", vec!["O+", "O-"]),
            ("A-", vec!["A-", "O-"]),
            ("A+", vec!["A+", "A-", "O+", "O-"]),
            ("B-", vec!["B-", "O-"]),
            ("B+", vec!["B+", "B-", "O+", "O-"]),
            ("AB-", vec!["AB-", "A-", "B-", "O-"]),
            (
                "AB+",
                vec!["AB+", "AB-", "A+", "A-", "B+", "B-", "O+", "O-"],
            ),
        ];
        for (recipient, expected) in cases {
            let mut got = order(Product::RedCells, recipient);
            let mut want = expected.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "red cells for {recipient}");
        }
    }

    #[test]
    fn red_cell_preference_spares_o_negative() {
        assert_eq!(order(Product::RedCells, "A+"), ["A+", "A-", "O+", "O-"]);
        assert_eq!(order(Product::RedCells, "O+"), ["O+", "O-"]);
    }

    #[test]
    fn plasma_is_the_reverse_of_red_cells() {
        for (d, donor) in ABO_RHD_GROUPS.iter().enumerate() {
            for (r, recipient) in ABO_RHD_GROUPS.iter().enumerate() {
                let pl = Product::Plasma.compatible(GroupSystem::AboRhd, d, r);
                let abo_rc = AboRhd::red_cells_compatible(
                    AboRhd {
                        rhd_positive: true,
                        ..*recipient
                    },
                    AboRhd {
                        rhd_positive: true,
                        ..*donor
                    },
                );
                assert_eq!(pl, abo_rc, "plasma {d}->{r}");
            }
        }
        assert_eq!(order(Product::Plasma, "AB+")[..2], ["AB+", "AB-"]);
        assert_eq!(order(Product::Plasma, "AB+").len(), 2);
        assert_eq!(order(Product::Plasma, "O-").len(), 8);
    }

    #[test]
    fn platelets_prefer_identical_then_same_abo() {
        let o = order(Product::Platelets, "A+");
        assert_eq!(o[..2], ["A+", "A-"]);
        assert_eq!(o.len(), 8);
        let neg = order(Product::Platelets, "A-");
        assert_eq!(neg[0], "A-");
        // RhD- recipients get every RhD- option before any RhD+ one.
        let first_pos = neg.iter().position(|g| g.ends_with('+')).unwrap();
        assert!(neg[first_pos..].iter().all(|g| g.ends_with('+')));
    }

    #[test]
    fn the_rhd_positive_switch_gives_rhd_negative_recipients_abo_compatible_rhd_positive_cells() {
        let switch = |product: Product, recipient: &str| -> Vec<&str> {
            product
                .rhd_positive_switch(GroupSystem::AboRhd, idx(recipient))
                .into_iter()
                .map(|g| ABO_RHD_LABELS[g])
                .collect()
        };
        assert_eq!(switch(Product::RedCells, "O-"), ["O+"]);
        assert_eq!(switch(Product::RedCells, "A-"), ["A+", "O+"]);
        assert_eq!(switch(Product::RedCells, "B-"), ["B+", "O+"]);
        // The twin's (AB+) preference order, RhD-positive donors only.
        assert_eq!(switch(Product::RedCells, "AB-"), ["AB+", "O+", "A+", "B+"]);
        assert!(switch(Product::RedCells, "A+").is_empty());
        assert!(switch(Product::Platelets, "A-").is_empty());
        assert!(switch(Product::Plasma, "O-").is_empty());
        assert!(
            Product::RedCells
                .rhd_positive_switch(GroupSystem::Single, 0)
                .is_empty()
        );
    }

    #[test]
    fn single_system_has_one_self_compatible_group() {
        assert_eq!(
            Product::RedCells.preference_order(GroupSystem::Single, 0),
            vec![0]
        );
        assert_eq!(GroupSystem::Single.labels(), vec!["any"]);
    }
}
