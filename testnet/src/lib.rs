//! Local testnet (being written).
