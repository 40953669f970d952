//! The service report (服务报告) of a closed visit, as the customer receives
//! it: gathered from the visit's stored events ([`document`]), verified
//! against the signed digest ([`verify`]), laid out in one language
//! ([`view`]), and rendered as HTML ([`html`]) or as a PDF typeset by typst
//! with a CJK font found at run time ([`pdf`], [`fonts`]). The signature is
//! redrawn from its strokes ([`signature`]), the verification page is one
//! QR code away ([`qr`]), and customers open the report through an
//! unguessable, expiring link ([`links`]). Photos are embedded as report
//! renditions, at most 1600 px on the long side ([`renditions`]).
//!
//! Report format 1: everything in the visit's projection and its sign-off
//! evidence. Photos join in format 2; the report already has their section
//! ([`document::ReportPhoto`]), shown only when a visit has photos.

pub mod document;
pub mod fonts;
pub mod html;
pub mod links;
pub mod pdf;
pub mod qr;
pub mod renditions;
pub mod signature;
pub mod verify;
pub mod view;
