//! The one way to make a result class: a frozen Python class around a gke-core result that
//! serialises (`to_dict`) and shows itself as HTML (`to_html`, `_repr_html_`).

/// Holds `result_class!` to its promise: the wrapped result is `Serialize + ToHtml`.
pub(crate) fn bound<T: serde::Serialize + gke_core::html::ToHtml>() {}

/// A typed result: getters for its `fields` (`name: Type` clones the result's field,
/// `name: Type = f` is `f(&inner)`), `to_dict()`, `to_html()`, `_repr_html_()` and `__repr__`
/// (the class name and the result as JSON, or `repr = f` with `f(&inner) -> String`); methods
/// after `fields { }` join the class's.
macro_rules! result_class {
    (@repr $py:ident, $inner:expr) => {
        format!(
            "{}({})",
            stringify!($py),
            serde_json::to_string($inner).unwrap_or_default()
        )
    };
    (@repr $py:ident, $inner:expr, $repr:expr) => {
        ($repr)($inner)
    };
    (@get $inner:expr, $f:ident) => {
        $inner.$f.clone()
    };
    (@get $inner:expr, $f:ident, $get:expr) => {
        ($get)(&$inner)
    };
    ($(#[$doc:meta])* $py:ident wraps $core:ty, $(repr = $repr:expr,)?
     fields { $($(#[$fdoc:meta])* $f:ident : $t:ty $(= $get:expr)?),* $(,)? } $($extra:tt)*) => {
        $(#[$doc])*
        #[pyclass(module = "dss_gke._native", frozen)]
        pub struct $py {
            inner: $core,
        }

        const _: fn() = $crate::results::bound::<$core>;

        #[pymethods]
        impl $py {
            $(
                $(#[$fdoc])*
                #[getter]
                fn $f(&self) -> $t {
                    $crate::results::result_class!(@get self.inner, $f $(, $get)?)
                }
            )*

            /// The result as plain data (JSON types only).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::to_python(py, &self.inner)
            }

            /// The result as an HTML fragment, as the DSS action shows it.
            fn to_html(&self) -> String {
                gke_core::html::ToHtml::to_html(&self.inner)
            }

            fn _repr_html_(&self) -> String {
                gke_core::html::ToHtml::to_html(&self.inner)
            }

            fn __repr__(&self) -> String {
                $crate::results::result_class!(@repr $py, &self.inner $(, $repr)?)
            }

            $($extra)*
        }
    };
}

pub(crate) use result_class;
