//! [`Grid`]: a table with one row per cell (or per switch slot) and one column per local
//! region, indexed by `(cell, region)`.
//!
//! Per-(cell, region) data — health entries, live and target weights, switch states,
//! drains, alarm and observation tables — are tables of a service's cells by its regions.
//! A `Grid` holds one such table and knows its shape, so nobody computes an offset by hand
//! and a table of the wrong shape is caught where it is built, not read as another cell.
//!
//! # Design
//! - **Row-major, one `Vec`.** Values are stored cell by cell, regions within a cell, as
//!   the flat vectors this type replaced were: [`Grid::iter`] visits them in that order, so
//!   a loop over a grid runs in the order it always ran, and a row is a slice
//!   ([`Grid::row`]) that the per-cell helpers (shares, splits) take as before. Planning
//!   1,000 services × 30 cells × 5 regions still touches arrays, not maps.
//! - **Serialized as the flat list.** A grid serializes exactly as the `Vec` it replaced
//!   (status pages, journal records and reports keep their JSON). A flat list does not carry
//!   its shape, so a grid does not deserialize: a reader rebuilds one with
//!   [`Grid::from_vec`], knowing the bundle's shape.
//! - **Shape is checked.** [`Grid::from_vec`] refuses a list that does not fill the shape;
//!   indexing out of the shape panics (a programmer error, like indexing a `Vec` past its
//!   end) and [`Grid::get`] returns `None` instead, even for a region past the row's end
//!   that a flat offset would have silently read from the next cell.

use serde::{Serialize, Serializer};
use std::ops::{Index, IndexMut};

/// A table of `cells` rows by `regions` columns, stored row-major.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Grid<T> {
    cells: usize,
    regions: usize,
    values: Vec<T>,
}

/// A flat list that does not fill the shape it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} value(s) do not fill {cells} cell(s) × {regions} region(s)")]
pub struct ShapeError {
    /// Rows asked for.
    pub cells: usize,
    /// Columns asked for.
    pub regions: usize,
    /// Values given.
    pub len: usize,
}

impl<T> Grid<T> {
    /// The grid of no cells and no regions (a `static` can hold one).
    pub const fn empty() -> Self {
        Grid {
            cells: 0,
            regions: 0,
            values: Vec::new(),
        }
    }

    /// A `cells × regions` grid with every value `fill`.
    pub fn new(cells: usize, regions: usize, fill: T) -> Self
    where
        T: Clone,
    {
        Grid {
            cells,
            regions,
            values: vec![fill; cells * regions],
        }
    }

    /// A `cells × regions` grid with the value `f(cell, region)` at each place, computed in
    /// row-major order.
    pub fn from_fn(cells: usize, regions: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut values = Vec::with_capacity(cells * regions);
        for c in 0..cells {
            for r in 0..regions {
                values.push(f(c, r));
            }
        }
        Grid {
            cells,
            regions,
            values,
        }
    }

    /// The grid whose row-major values are `values`, if they fill `cells × regions` exactly.
    pub fn from_vec(cells: usize, regions: usize, values: Vec<T>) -> Result<Self, ShapeError> {
        if values.len() != cells * regions {
            return Err(ShapeError {
                cells,
                regions,
                len: values.len(),
            });
        }
        Ok(Grid {
            cells,
            regions,
            values,
        })
    }

    /// Rows (cells or switch slots).
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// Columns (local regions).
    pub fn regions(&self) -> usize {
        self.regions
    }

    /// `(cells, regions)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.cells, self.regions)
    }

    /// Number of values (`cells × regions`).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the grid holds no value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Offset of `(cell, region)` in the flat list, if inside the shape.
    #[inline]
    fn offset(&self, cell: usize, region: usize) -> Option<usize> {
        (cell < self.cells && region < self.regions).then(|| cell * self.regions + region)
    }

    /// The value at `(cell, region)`, `None` outside the shape.
    #[inline]
    pub fn get(&self, cell: usize, region: usize) -> Option<&T> {
        self.offset(cell, region).map(|i| &self.values[i])
    }

    /// The value at `(cell, region)` to change, `None` outside the shape.
    #[inline]
    pub fn get_mut(&mut self, cell: usize, region: usize) -> Option<&mut T> {
        self.offset(cell, region).map(|i| &mut self.values[i])
    }

    /// Row `cell`, one value per region.
    ///
    /// # Panics
    /// When `cell` is not a row of the grid.
    #[inline]
    pub fn row(&self, cell: usize) -> &[T] {
        if cell >= self.cells {
            self.out_of_rows(cell);
        }
        &self.values[cell * self.regions..(cell + 1) * self.regions]
    }

    /// Row `cell` to change.
    ///
    /// # Panics
    /// When `cell` is not a row of the grid.
    #[inline]
    pub fn row_mut(&mut self, cell: usize) -> &mut [T] {
        if cell >= self.cells {
            self.out_of_rows(cell);
        }
        &mut self.values[cell * self.regions..(cell + 1) * self.regions]
    }

    // Kept out of line so the accessors above stay small enough to inline into the
    // planner's per-entry loops (150,000 entries a pass at fleet scale).
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn out_of_rows(&self, cell: usize) -> ! {
        panic!("row {cell} of a grid of {} row(s)", self.cells)
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn outside(&self, cell: usize, region: usize) -> ! {
        panic!(
            "({cell}, {region}) outside a grid of {} × {}",
            self.cells, self.regions
        )
    }

    /// Every row in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[T]> + '_ {
        (0..self.cells).map(|c| &self.values[c * self.regions..(c + 1) * self.regions])
    }

    /// Every row in order, to change.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut [T]> + '_ {
        // `chunks_exact_mut(0)` would panic; a grid without regions has only empty rows.
        let width = self.regions.max(1);
        let empty = if self.regions == 0 { self.cells } else { 0 };
        self.values
            .chunks_exact_mut(width)
            .chain(std::iter::repeat_with(|| &mut [][..]).take(empty))
    }

    /// Column `region`: its value in every row, in row order (nothing when `region` is not a
    /// column of the grid).
    pub fn column(&self, region: usize) -> impl Iterator<Item = &T> + '_ {
        (0..self.cells).filter_map(move |c| self.get(c, region))
    }

    /// Every value, row by row (the flat order).
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.values.iter()
    }

    /// Every value to change, row by row.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.values.iter_mut()
    }

    /// Every value with its `(cell, region)`, row by row.
    pub fn indexed(&self) -> impl Iterator<Item = ((usize, usize), &T)> + '_ {
        self.values
            .iter()
            .enumerate()
            .map(|(i, v)| ((i / self.regions, i % self.regions), v))
    }

    /// The grid of the same shape with `f` applied to every value.
    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Grid<U> {
        Grid {
            cells: self.cells,
            regions: self.regions,
            values: self.values.iter().map(f).collect(),
        }
    }

    /// The values as one row-major slice: for a content hash or the flat serialized form.
    pub fn as_slice(&self) -> &[T] {
        &self.values
    }

    /// The row-major values.
    pub fn into_vec(self) -> Vec<T> {
        self.values
    }
}

/// True when two rows hold the same values. `==` on byte slices calls `memcmp`, whose
/// call costs more than comparing a cell's few regions in line; the planner compares every
/// cell's rows several times a pass (150,000 (cell, region)s at fleet scale). No early
/// exit, so the loop is not turned back into that call.
#[inline]
pub fn same_row<T: Copy + Eq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(true, |same, (x, y)| same & (x == y))
}

impl<T> Index<(usize, usize)> for Grid<T> {
    type Output = T;

    /// # Panics
    /// When `(cell, region)` is outside the grid.
    #[inline]
    fn index(&self, (cell, region): (usize, usize)) -> &T {
        match self.offset(cell, region) {
            Some(i) => &self.values[i],
            None => self.outside(cell, region),
        }
    }
}

impl<T> IndexMut<(usize, usize)> for Grid<T> {
    /// # Panics
    /// When `(cell, region)` is outside the grid.
    #[inline]
    fn index_mut(&mut self, (cell, region): (usize, usize)) -> &mut T {
        match self.offset(cell, region) {
            Some(i) => &mut self.values[i],
            None => self.outside(cell, region),
        }
    }
}

impl<'a, T> IntoIterator for &'a Grid<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

impl<T: Serialize> Serialize for Grid<T> {
    /// The flat row-major list, exactly as the `Vec` a grid replaced.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 cells × 2 regions, each value naming its place: `10 × cell + region`.
    fn sample() -> Grid<u32> {
        Grid::from_fn(3, 2, |c, r| u32::try_from(10 * c + r).unwrap())
    }

    #[test]
    fn from_fn_and_from_vec_agree_row_major() {
        let g = sample();
        assert_eq!(g.shape(), (3, 2));
        assert_eq!((g.cells(), g.regions(), g.len()), (3, 2, 6));
        assert_eq!(g.as_slice(), &[0, 1, 10, 11, 20, 21]);
        assert_eq!(
            Grid::from_vec(3, 2, vec![0, 1, 10, 11, 20, 21]),
            Ok(g.clone())
        );
        assert_eq!(g.clone().into_vec(), vec![0, 1, 10, 11, 20, 21]);
        assert_eq!(Grid::new(2, 3, 7u8).as_slice(), &[7; 6]);
    }

    #[test]
    fn from_vec_refuses_a_list_that_does_not_fill_the_shape() {
        let err = Grid::from_vec(3, 2, vec![0u8; 5]).unwrap_err();
        assert_eq!(
            err,
            ShapeError {
                cells: 3,
                regions: 2,
                len: 5
            }
        );
        assert_eq!(
            err.to_string(),
            "5 value(s) do not fill 3 cell(s) × 2 region(s)"
        );
        assert!(Grid::from_vec(2, 3, vec![0u8; 7]).is_err());
        // The same product in another shape is another grid.
        assert_ne!(
            Grid::from_vec(3, 2, vec![0u8; 6]).unwrap(),
            Grid::from_vec(2, 3, vec![0u8; 6]).unwrap()
        );
    }

    #[test]
    fn index_get_and_rows_address_cell_then_region() {
        let mut g = sample();
        assert_eq!(g[(2, 1)], 21);
        assert_eq!(g.get(1, 0), Some(&10));
        // Outside the shape: no value, even where a flat offset would land in the next row.
        assert_eq!(g.get(0, 2), None);
        assert_eq!(g.get(3, 0), None);
        g[(1, 1)] = 99;
        *g.get_mut(0, 0).unwrap() = 5;
        assert_eq!(g.get_mut(0, 2), None);
        assert_eq!(g.row(1), &[10, 99]);
        g.row_mut(2).fill(0);
        let rows: Vec<&[u32]> = g.rows().collect();
        assert_eq!(rows, vec![&[5, 1][..], &[10, 99][..], &[0, 0][..]]);
        for row in g.rows_mut() {
            row[0] += 1;
        }
        assert_eq!(g.as_slice(), &[6, 1, 11, 99, 1, 0]);
    }

    #[test]
    #[should_panic(expected = "(0, 2) outside a grid of 3 × 2")]
    fn indexing_past_a_row_panics() {
        let _ = sample()[(0, 2)];
    }

    #[test]
    #[should_panic(expected = "row 3 of a grid of 3 row(s)")]
    fn a_row_past_the_end_panics() {
        let _ = sample().row(3);
    }

    #[test]
    fn columns_iteration_and_indexed_keep_the_flat_order() {
        let g = sample();
        assert_eq!(g.column(1).copied().collect::<Vec<_>>(), vec![1, 11, 21]);
        assert_eq!(g.column(2).count(), 0);
        assert_eq!(
            g.iter().copied().collect::<Vec<_>>(),
            vec![0, 1, 10, 11, 20, 21]
        );
        assert_eq!((&g).into_iter().count(), 6);
        let indexed: Vec<((usize, usize), u32)> = g.indexed().map(|(i, v)| (i, *v)).collect();
        assert_eq!(
            indexed,
            vec![
                ((0, 0), 0),
                ((0, 1), 1),
                ((1, 0), 10),
                ((1, 1), 11),
                ((2, 0), 20),
                ((2, 1), 21)
            ]
        );
        let mut g = g;
        g.iter_mut().for_each(|v| *v += 1);
        assert_eq!(g.map(|v| v % 10 == 1).column(0).filter(|x| **x).count(), 3);
    }

    #[test]
    fn grids_without_regions_or_cells_have_empty_rows() {
        let mut g: Grid<u8> = Grid::new(2, 0, 0);
        assert!(g.is_empty());
        assert_eq!(g.rows().map(<[u8]>::len).collect::<Vec<_>>(), vec![0, 0]);
        assert_eq!(g.rows_mut().count(), 2);
        assert_eq!(g.indexed().count(), 0);
        assert_eq!(g.row(1), &[] as &[u8]);
        let none: Grid<u8> = Grid::new(0, 3, 0);
        assert_eq!(none.rows().count(), 0);
        assert_eq!(none.column(0).count(), 0);
        assert_eq!(Grid::<u8>::default(), Grid::empty());
        assert_eq!(Grid::<u8>::empty().shape(), (0, 0));
    }

    #[test]
    fn serializes_as_the_flat_list_it_replaced() {
        let g = Grid::from_fn(2, 2, |c, r| (c == r).then_some(c));
        let flat: Vec<Option<usize>> = vec![Some(0), None, None, Some(1)];
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            serde_json::to_string(&flat).unwrap()
        );
        assert_eq!(serde_json::to_string(&g).unwrap(), "[0,null,null,1]");
        assert_eq!(serde_json::to_string(&Grid::<u8>::default()).unwrap(), "[]");
    }
}
