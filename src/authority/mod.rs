//! The local authority's view of its programme: the events of each cohort and their registers,
//! withdrawing a school, reading a school's handbook, the city-wide dashboard, the schools'
//! attendance figures against national ones and the impact view, each table downloadable.

pub mod attendance;
pub mod chart;
pub mod dashboard;
pub mod dfe;
pub mod events;
pub mod impact;
pub mod national;
pub mod schools;
pub mod table;
