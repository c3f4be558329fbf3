//! Donations: how many arrive, of which groups, and what they yield.

use crate::random::{Count, Shock};

/// Kinds of donation, each with its own yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DonationKind {
    WholeBlood,
    ApheresisPlatelets,
    ApheresisPlasma,
}

impl DonationKind {
    pub const ALL: [DonationKind; 3] = [
        DonationKind::WholeBlood,
        DonationKind::ApheresisPlatelets,
        DonationKind::ApheresisPlasma,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DonationKind::WholeBlood => "whole_blood",
            DonationKind::ApheresisPlatelets => "apheresis_platelets",
            DonationKind::ApheresisPlasma => "apheresis_plasma",
        }
    }
}

/// One donation stream at a collection site.
#[derive(Debug, Clone, PartialEq)]
pub struct DonationStream {
    pub kind: DonationKind,
    /// Donations of each group per period (baseline), by group index.
    pub per_group: Vec<Count>,
    /// Turnout shock shared by all groups each period (negative binomial counts).
    pub shock: Shock,
    /// Multiplier by weekday, Monday first.
    pub weekday: [f64; 7],
    /// Expected units per donation, by scenario product index.
    pub yields: Vec<f64>,
}
